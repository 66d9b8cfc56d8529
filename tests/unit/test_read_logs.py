"""What `inv logs` reads from a node: each command's stdout and (when it wrote any) its stderr,
each after its marker, whether or not it ended with a newline, a missing log said to be
missing, a delivery's older one-file log read as the stdout, all in one loop of a few bytes
per id."""

from __future__ import annotations

import subprocess
from pathlib import Path

from octopus.node import Node
from octopus.run.deliveries import Deliveries
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.stages.logs import CommandLog, ReadLogs, parse_logs


def delivered(tmp_path: Path) -> tuple[Deliveries, Path]:
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)
    plan = build_plan(["x", "y", "z", "w", "v"], "", [node])
    record = Deliveries("e")
    record.take_over(Manifest("e", "D1", plan, {"a": "screen"}, ".octopus/e"))
    logs = tmp_path / record.of("a").run_dir / "logs"
    logs.mkdir(parents=True)
    return record, logs


def read(record: Deliveries, tmp_path: Path, ids: list[int], tail: int = 0) -> str:
    command = ReadLogs(record, {"a": ids}, tail=tail).command("a")
    assert len(command) < 500  # a loop: ids add a few bytes each, not a command each
    done = subprocess.run(
        ["sh", "-c", command], env={"HOME": str(tmp_path)}, capture_output=True, check=True
    )
    return done.stdout.decode()


def test_each_stream_keeps_to_itself_with_or_without_its_last_newline(tmp_path: Path) -> None:
    record, logs = delivered(tmp_path)
    (logs / "0.out").write_text("progress 50%\rprogress 100%")  # no newline at the end
    (logs / "0.err").write_text("")  # no stderr: not asked for
    (logs / "1.out").write_text("line one\nline two\n\n")
    (logs / "1.err").write_text("Traceback (most recent call last):\nValueError: no")
    (logs / "3.out").write_text("")
    (logs / "3.err").write_text("only stderr\n")
    (logs / "4.log").write_text("before the split: both streams\n")  # an older delivery's
    assert parse_logs(read(record, tmp_path, [0, 1, 2, 3, 4])) == {
        0: CommandLog("progress 50%\rprogress 100%", ""),
        1: CommandLog(
            "line one\nline two\n\n", "Traceback (most recent call last):\nValueError: no"
        ),
        2: None,
        3: CommandLog("", "only stderr\n"),
        4: CommandLog("before the split: both streams\n", ""),
    }


def test_the_last_stream_read_keeps_its_last_newline(tmp_path: Path) -> None:
    record, logs = delivered(tmp_path)
    (logs / "2.out").write_text("out\n")
    (logs / "2.err").write_text("err\n")
    assert parse_logs(read(record, tmp_path, [2])) == {2: CommandLog("out\n", "err\n")}


def test_tail_keeps_the_last_lines_of_each_stream(tmp_path: Path) -> None:
    record, logs = delivered(tmp_path)
    (logs / "1.out").write_text("".join(f"out {n}\n" for n in range(10)))
    (logs / "1.err").write_text("".join(f"err {n}\n" for n in range(10)))
    assert parse_logs(read(record, tmp_path, [1], tail=2)) == {
        1: CommandLog("out 8\nout 9\n", "err 8\nerr 9\n")
    }


def test_a_stdout_file_that_is_there_wins_over_an_older_log(tmp_path: Path) -> None:
    record, logs = delivered(tmp_path)
    (logs / "0.out").write_text("")
    (logs / "0.log").write_text("stale\n")
    assert parse_logs(read(record, tmp_path, [0])) == {0: CommandLog("", "")}
