"""What `inv logs` reads from a node: each log after its marker, whether or not it ended
with a newline, a missing one said to be missing, all in one loop of a few bytes per id."""

from __future__ import annotations

import subprocess
from pathlib import Path

from octopus.node import Node
from octopus.run.deliveries import Deliveries
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.stages.logs import ReadLogs, parse_logs


def test_a_log_without_its_last_newline_keeps_to_itself(tmp_path: Path) -> None:
    node = Node(test_connection=False, ssh_hostname="a", num_parallel_screens_or_jobs=1)
    plan = build_plan(["x", "y", "z"], "", [node])
    record = Deliveries("e")
    record.take_over(Manifest("e", "D1", plan, {"a": "screen"}, ".octopus/e"))
    logs = tmp_path / record.of("a").run_dir / "logs"
    logs.mkdir(parents=True)
    (logs / "0.log").write_text("progress 50%\rprogress 100%")  # no newline at the end
    (logs / "1.log").write_text("line one\nline two\n\n")
    command = ReadLogs(record, {"a": [0, 1, 2]}, tail=0).command("a")
    assert len(command) < 400  # a loop: ids add a few bytes each, not a command each
    done = subprocess.run(["bash", "-c", command], env={"HOME": str(tmp_path)}, capture_output=True)
    assert parse_logs(done.stdout.decode()) == {
        0: "progress 50%\rprogress 100%",
        1: "line one\nline two\n\n",
        2: None,
    }
