"""pathlib.Path wherever the original took a path: the value is text from where it enters."""

from __future__ import annotations

from pathlib import Path

from octopus import (
    SCP,
    CombineCSVFiles,
    CreateScript,
    Experiment,
    LocalCopy,
    Node,
    Remove,
    Rsync,
    ScreenCmd,
    SetupVenv,
)
from octopus.output import StageOutput
from octopus.steps.context import StepContext


def ctx(**experiment: object) -> StepContext:
    return StepContext(
        Node(test_connection=False, ssh_hostname="n1", name="n1"),
        None,
        Experiment(name="paths", **experiment),  # type: ignore[arg-type]
        StageOutput(quiet=True),
    )


class Paths:
    """As real experiment files write them: a class of Path attributes."""

    root = Path("~/zero-shot")
    runs = Path("zero-shot-data/runs")
    here = Path("../zero-shot-data")


def test_rsync_with_paths_builds_its_command_line():
    step = Rsync(src=[Paths.runs], dest=[Paths.here], put=False)
    [line] = step.describe(ctx())
    assert "n1:zero-shot-data/runs" in line and line.endswith(" ../zero-shot-data")
    up = Rsync(src=Paths.here, dest=Paths.root, put=True)
    assert up.src == ["../zero-shot-data"] and up.dest == ["~/zero-shot"]


def test_path_arguments_of_every_kind_become_text():
    assert SCP(src=Path("/etc/hosts"), dest=Path("conf")).dest == "conf"
    assert SetupVenv(requirements_txt_filename=Path("req.txt")).requirements_txt_filename == (
        "req.txt"
    )
    assert Remove(files=[Path("a b")]).commands(ctx()) == ["rm -f -- 'a b'"]
    assert ScreenCmd(cmd="x", logfile=Path("log.txt")).logfile == "log.txt"
    exp = Experiment(exp_folder_path=Path("~/zero-shot"))
    assert exp.exp_folder_name == "~/zero-shot" and exp.name == "zero-shot"


def test_local_steps_with_paths(tmp_path: Path):
    script = tmp_path / "s.sh"
    CreateScript(scriptname=script, script_cmd="echo hi\n").run()
    assert script.read_text() == "echo hi\n"
    for i in range(2):
        (tmp_path / f"r{i}.csv").write_text(f"a,b\n{i},x\n")
    CombineCSVFiles(source_files=tmp_path / "r*.csv", target_file=tmp_path / "all.csv").run()
    assert (tmp_path / "all.csv").read_text().splitlines() == ["a,b", "0,x", "1,x"]
    LocalCopy(src=[tmp_path / "all.csv"], dest=[tmp_path / "copy"]).run()
    assert (tmp_path / "copy" / "all.csv").is_file()
