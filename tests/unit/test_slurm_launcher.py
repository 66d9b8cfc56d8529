"""The Slurm launcher: the #SBATCH header, which options octopus owns, sbatch/squeue/sacct/scancel
command text and the parse of what they print (recorded lines, and fake commands on PATH)."""

from __future__ import annotations

import os
import subprocess

import pytest

from octopus.errors import ConfigError
from octopus.launchers.registry import launcher_of, worker_script
from octopus.launchers.slurm import SlurmJob, SlurmLauncher, check_options
from octopus.node import Node
from octopus.run.layout import MARK, ExperimentPaths, job_file
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.workers import Worker

SETTINGS = {"slurm": {"parallel": 2, "cpus": 4, "gpus": 0, "options": {}, "node_options": {}}}


def launcher(settings=None, node="n1"):
    return SlurmLauncher(ExperimentPaths("exp"), SETTINGS if settings is None else settings, node)


def probe(*lines):
    return launcher().parse_probe([f"{MARK} {line}" for line in lines])


def shell(command, tmp_path, bin_dir=None):
    """Run shell text as a node would, with HOME in tmp_path and fake commands first on PATH."""
    path = f"{bin_dir}:{os.environ['PATH']}" if bin_dir else os.environ["PATH"]
    env = {**os.environ, "HOME": str(tmp_path), "PATH": path, "USER": "tester"}
    return subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30
    )


def fake(bin_dir, name, body):
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


# -- parse_probe ----------------------------------------------------------------------------


def test_a_running_job():
    got = probe("jobid s0 123", "squeue 123|RUNNING|None")
    assert set(got) == {0}
    assert got[0].alive and not got[0].cancelled
    assert got[0].detail == {"job_id": "123", "state": "RUNNING", "reason": ""}


def test_a_completed_job_from_sacct():
    got = probe("jobid s0 123", "sacct 123|COMPLETED|0:0")
    assert not got[0].alive and not got[0].cancelled
    assert got[0].detail["state"] == "COMPLETED"


def test_cancelled_by_a_user_is_cancelled():
    got = probe("jobid s2 9", "sacct 9|CANCELLED by 0|0:15")
    assert set(got) == {2}
    assert got[2].cancelled and not got[2].alive
    assert got[2].detail["state"] == "CANCELLED"


def test_a_pending_job_keeps_its_reason():
    got = probe("jobid s1 124", "squeue 124|PENDING|Resources")
    assert got[1].alive
    assert got[1].detail == {"job_id": "124", "state": "PENDING", "reason": "Resources"}


def test_squeue_wins_over_sacct_in_either_order():
    for lines in (
        ("jobid s0 123", "squeue 123|RUNNING|None", "sacct 123|COMPLETED|0:0"),
        ("jobid s0 123", "sacct 123|COMPLETED|0:0", "squeue 123|RUNNING|None"),
    ):
        got = probe(*lines)
        assert got[0].alive and got[0].detail["state"] == "RUNNING", lines


def test_a_job_slurm_does_not_know_is_unknown_and_not_alive():
    got = probe("jobid s0 123", "jobid s1 456", "squeue 123|RUNNING|None")
    assert got[0].alive
    assert not got[1].alive and not got[1].cancelled
    assert got[1].detail == {"job_id": "456", "state": "UNKNOWN", "reason": ""}


def test_states_of_jobs_octopus_did_not_record_are_ignored():
    got = probe("squeue 999|RUNNING|None", "jobid s3 5", "sacct 5|FAILED|1:0", "alive 3 1")
    assert set(got) == {3}
    assert not got[3].alive and got[3].detail["state"] == "FAILED"


# -- parse_started --------------------------------------------------------------------------


def test_parse_started_reads_the_submitted_lines_only():
    text = "\n".join(
        [
            "Submitted batch job 77",
            f"{MARK} submitted s0 77",
            f"{MARK} submitted s1",
            f"{MARK} submitted s4 80",
            "noise",
        ]
    )
    assert launcher().parse_started(text) == {"s0": "77", "s4": "80"}


# -- the header -----------------------------------------------------------------------------


def test_header_lines_in_order():
    job = SlurmJob(parallel=2, cpus_per_task=4, gpus=0, options=(("partition", "gpu"),))
    assert job.header("oct-exp-s3", 3, 5).splitlines() == [
        "#SBATCH --job-name=oct-exp-s3",
        "#SBATCH --ntasks=2",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH -e job_3.err",
        "#SBATCH -o job_3.out",
        "#SBATCH --partition=gpu",
    ]


def test_ntasks_is_the_smaller_of_commands_and_parallel_and_at_least_one():
    job = SlurmJob(parallel=4)

    def ntasks(n):
        return next(x for x in job.header("j", 0, n).splitlines() if "--ntasks" in x)

    assert ntasks(10) == "#SBATCH --ntasks=4"
    assert ntasks(3) == "#SBATCH --ntasks=3"
    assert ntasks(1) == "#SBATCH --ntasks=1"
    assert ntasks(0) == "#SBATCH --ntasks=1"


def test_gpus_only_when_asked_for():
    assert "--gpus" not in SlurmJob(gpus=0).header("j", 0, 1)
    assert "#SBATCH --gpus=2\n" in SlurmJob(gpus=2).header("j", 0, 1)


def test_options_sorted_and_node_options_win():
    settings = {
        "parallel": 3,
        "cpus": 2,
        "gpus": 1,
        "options": {"time": "01:00:00", "partition": "gpu", "account": "lab"},
        "node_options": {"n1": {"partition": "big", "qos": "high"}},
    }
    job = SlurmJob.of(settings, "n1")
    assert (job.parallel, job.cpus_per_task, job.gpus) == (3, 2, 1)
    assert job.options == (
        ("account", "lab"),
        ("partition", "big"),
        ("qos", "high"),
        ("time", "01:00:00"),
    )
    other = SlurmJob.of(settings, "n2")
    assert dict(other.options)["partition"] == "gpu" and "qos" not in dict(other.options)
    lines = job.header("j", 0, 1).splitlines()
    assert lines[-4:] == [
        "#SBATCH --account=lab",
        "#SBATCH --partition=big",
        "#SBATCH --qos=high",
        "#SBATCH --time=01:00:00",
    ]


def test_defaults_without_settings():
    job = SlurmJob.of({}, "n1")
    assert job == SlurmJob(parallel=1, cpus_per_task=1, gpus=0, options=())


def test_launcher_header_and_parallel_come_from_the_manifest_settings():
    settings = {"slurm": {**SETTINGS["slurm"], "node_options": {"n1": {"time": "5"}}}}
    lau = launcher(settings, node="n1")
    assert lau.parallel == 2
    header = lau.script_header(Worker("n1", 0, 7, 0), 1)
    assert header.startswith("#SBATCH --job-name=oct-exp-s7\n#SBATCH --ntasks=1\n")
    assert "#SBATCH --time=5\n" in header
    assert "--time" not in launcher(settings, node="n2").script_header(Worker("n2", 0, 7, 0), 1)


# -- check_options --------------------------------------------------------------------------


def test_check_options_cleans_names_and_values():
    got = check_options(
        {"partition": "gpu", "--time": "01:00:00", "mem_per_cpu": "2G", "nodes": 2},
        "slurm_options",
    )
    assert got == {"partition": "gpu", "time": "01:00:00", "mem-per-cpu": "2G", "nodes": "2"}


@pytest.mark.parametrize("name", ["job-name", "--ntasks", "e", "o", "job_name", "cpus_per_task"])
def test_check_options_rejects_options_octopus_sets(name):
    with pytest.raises(ConfigError) as caught:
        check_options({name: "x"}, "slurm_options")
    assert caught.value.key == "slurm_options"
    assert f"'{name}' is set by octopus" in str(caught.value)


def test_check_options_rejects_multi_line_values():
    with pytest.raises(ConfigError, match="must be one line") as caught:
        check_options({"comment": "a\n#SBATCH --gpus=8"}, "slurm_options")
    assert caught.value.key == "slurm_options"


# -- stopping and listing -------------------------------------------------------------------


def test_stop_command_lists_the_users_jobs_by_name():
    text = launcher().stop_command(".octopus/exp")
    assert "squeue -h -u \"$USER\" -o '%i %j'" in text
    assert "scancel $octopus_jobs" in text


def test_stop_and_running_match_whole_job_names_of_the_experiment(tmp_path):
    bin_dir = tmp_path / "bin"
    log = tmp_path / "scancel.log"
    fake(
        bin_dir,
        "squeue",
        "printf '101 oct-exp-s0\\n102 oct-other-s0\\n103 oct-exp-s1\\n104 xoct-exp-s2\\n"
        "105 oct-exp-b-s0\\n106 oct-exp-s1x\\n'",
    )
    fake(bin_dir, "scancel", f'echo "$@" >> {log}')
    done = shell(launcher().stop_command(), tmp_path, bin_dir)
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["101", "103"]

    listed = shell(launcher().running_command(), tmp_path, bin_dir)
    assert listed.stdout.splitlines() == ["slurm job 101", "slurm job 103"]


def test_stop_command_cancels_nothing_when_no_job_matches(tmp_path):
    bin_dir = tmp_path / "bin"
    log = tmp_path / "scancel.log"
    fake(bin_dir, "squeue", "printf '102 oct-other-s0\\n'")
    fake(bin_dir, "scancel", f'echo "$@" >> {log}')
    done = shell(launcher().stop_command(), tmp_path, bin_dir)
    assert done.returncode == 0
    assert not log.exists()


def test_stop_one_cancels_the_recorded_job(tmp_path):
    bin_dir = tmp_path / "bin"
    log = tmp_path / "scancel.log"
    fake(bin_dir, "scancel", f'echo "$@" >> {log}')
    run = tmp_path / "runs" / "d 1"
    (run / "jobs").mkdir(parents=True)
    (run / job_file(2)).write_text("555\n")
    worker = Worker("n1", 0, 2, 0)
    done = shell(launcher().stop_one_command("runs/d 1", worker), tmp_path, bin_dir)
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["555"]
    # Nothing recorded: nothing cancelled.
    other = shell(launcher().stop_one_command("runs/d 1", Worker("n1", 1, 9, 0)), tmp_path, bin_dir)
    assert other.returncode == 0
    assert log.read_text().split() == ["555"]


# -- start and probe, through fake Slurm commands -------------------------------------------


def test_start_then_probe_round_trip(tmp_path):
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "sbatch", 'echo "77;cluster"')
    fake(bin_dir, "squeue", "echo '77|PENDING|Priority'")
    fake(bin_dir, "sacct", "echo '77|PENDING|0:0'")
    run = tmp_path / "runs" / "d 1"
    run.mkdir(parents=True)
    lau = launcher()
    worker = Worker("n1", 0, 0, 0)
    started = shell(lau.start_command("runs/d 1", worker, "run_exp_s0.sh"), tmp_path, bin_dir)
    assert started.returncode == 0, started.stderr
    assert lau.parse_started(started.stdout) == {"s0": "77"}
    assert (run / job_file(0)).read_text().strip() == "77"

    probed = shell(lau.probe_command("runs/d 1", [worker]), tmp_path, bin_dir)
    assert probed.returncode == 0, probed.stderr
    got = lau.parse_probe(probed.stdout.splitlines())
    assert set(got) == {0}
    assert got[0].alive
    assert got[0].detail == {"job_id": "77", "state": "PENDING", "reason": "Priority"}


def test_a_refused_sbatch_fails_the_start_with_its_message(tmp_path):
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "sbatch", "echo 'error: invalid partition' >&2; exit 1")
    (tmp_path / "d").mkdir()
    done = shell(launcher().start_command("d", Worker("n1", 0, 0, 0), "run.sh"), tmp_path, bin_dir)
    assert done.returncode == 1
    assert "sbatch: error: invalid partition" in done.stderr
    assert f"{MARK} submitted" not in done.stdout
    assert not (tmp_path / "d" / job_file(0)).exists()


def test_probe_without_job_files_reports_nothing(tmp_path):
    (tmp_path / "d").mkdir()
    probed = shell(launcher().probe_command("d", [Worker("n1", 0, 0, 0)]), tmp_path)
    assert probed.returncode == 0
    assert launcher().parse_probe(probed.stdout.splitlines()) == {}


# -- the worker script ----------------------------------------------------------------------


def slurm_manifest(count=3, parallel=2):
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)
    plan = build_plan([f"echo c{i}" for i in range(count)], "", [node])
    return Manifest(
        experiment="exp",
        delivery="D1",
        plan=plan,
        launchers={"a": "slurm"},
        run_root=".octopus/exp",
        slurm={
            "parallel": parallel,
            "cpus": 4,
            "gpus": 1,
            "options": {"time": "01:00:00", "partition": "gpu"},
            "node_options": {"a": {"partition": "big"}},
        },
    )


def test_the_worker_script_starts_with_the_sbatch_header():
    manifest = slurm_manifest()
    assert isinstance(launcher_of(manifest, "a"), SlurmLauncher)
    lines = worker_script(manifest, manifest.plan.parts[0]).splitlines()
    assert lines[0].startswith("#!")
    assert lines[1:9] == [
        "#SBATCH --job-name=oct-exp-s0",
        "#SBATCH --ntasks=2",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --gpus=1",
        "#SBATCH -e job_0.err",
        "#SBATCH -o job_0.out",
        "#SBATCH --partition=big",
        "#SBATCH --time=01:00:00",
    ]
    # sbatch reads #SBATCH lines only before the first command.
    assert not lines[9].startswith("#SBATCH")
    assert not any(line.startswith("#SBATCH") for line in lines[9:])


def calls_and_waits(script):
    """The lines that start a command (`octopus_run <id> ...`) or wait for a batch, in order."""
    return [
        line
        for line in script.splitlines()
        if line.startswith("octopus_run ") or line.strip() == "wait"
    ]


def test_the_worker_script_runs_parallel_commands_in_batches():
    manifest = slurm_manifest(count=3, parallel=2)
    part = manifest.plan.parts[0]
    script = worker_script(manifest, part)
    assert "OCTOPUS_PARALLEL=1\n" in script
    lines = calls_and_waits(script)
    assert [line.split()[:2] for line in lines] == [
        ["octopus_run", str(part.ids[0])],
        ["octopus_run", str(part.ids[1])],
        ["wait"],
        ["octopus_run", str(part.ids[2])],
        ["wait"],
    ]
    assert all(line.endswith(" &") for line in lines if line != "wait")
    # A command that failed with stop_on_error is noticed after each batch.
    assert script.count("wait\noctopus_check_stop\n") == 2
    for command in part.commands:
        assert command in script


def test_a_serial_slurm_script_has_no_background_commands():
    manifest = slurm_manifest(count=2, parallel=1)
    script = worker_script(manifest, manifest.plan.parts[0])
    assert "#SBATCH --ntasks=1\n" in script
    assert "OCTOPUS_PARALLEL=1" not in script
    lines = calls_and_waits(script)
    assert [line.split()[:2] for line in lines] == [
        ["octopus_run", str(i)] for i in manifest.plan.parts[0].ids
    ]
    assert not any(line.endswith("&") for line in lines)
