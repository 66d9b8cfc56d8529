"""Work shared with a forked child: its files are there once the caller has waited, its
failure comes back as its one-line error, a caller that fails stops and reaps it, and a large
delivery written by two processes is the very same as one written by one.

Each case runs in a fresh Python process: a test process that some other test left a thread
in would not fork (forked.can_fork), and the case would not test the child at all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any


def in_fresh_process(code: str, tmp_path: Path) -> Any:
    """What the code printed last, as JSON, run by a new interpreter in tmp_path."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_childs_files_are_there_once_waited_for(tmp_path: Path) -> None:
    found = in_fresh_process(
        """
        import json, os
        from pathlib import Path
        from octopus.forked import Beside, can_fork
        def work():
            Path("child.txt").write_text(str(os.getpid()))
        with Beside(work) as child:
            forked = child.forked
            Path("parent.txt").write_text(str(os.getpid()))
            child.wait()
        print(json.dumps({"can": can_fork(), "forked": forked,
                          "child": Path("child.txt").read_text(), "me": str(os.getpid())}))
        """,
        tmp_path,
    )
    assert found["can"] and found["forked"]
    assert found["child"] != found["me"]  # written by another process


def test_a_failed_child_comes_back_as_its_one_line_error(tmp_path: Path) -> None:
    found = in_fresh_process(
        """
        import json
        from octopus.errors import ConfigError
        from octopus.forked import Beside, ForkedWorkFailed
        def work():
            raise ConfigError("deliverables/x: a file stands where a folder belongs")
        try:
            with Beside(work) as child:
                forked = child.forked
                child.wait()
        except ForkedWorkFailed as exc:
            print(json.dumps({"forked": forked, "said": str(exc), "code": exc.exit_code}))
        """,
        tmp_path,
    )
    assert found["forked"]
    assert found["said"] == "deliverables/x: a file stands where a folder belongs"
    assert found["code"] == 2


def test_a_caller_that_fails_stops_and_reaps_its_child(tmp_path: Path) -> None:
    found = in_fresh_process(
        """
        import json, os, time
        from octopus.forked import Beside
        began = time.monotonic()
        try:
            with Beside(lambda: time.sleep(60)) as child:
                pid = child._pid
                raise RuntimeError("the caller's own share failed")
        except RuntimeError:
            pass
        try:
            os.kill(pid, 0)
            gone = False
        except ProcessLookupError:
            gone = True
        print(json.dumps({"pid": pid, "gone": gone, "took": time.monotonic() - began}))
        """,
        tmp_path,
    )
    assert found["pid"] > 0 and found["gone"] and found["took"] < 30


def test_without_a_fork_the_work_runs_when_waited_for(tmp_path: Path) -> None:
    found = in_fresh_process(
        """
        import json, os
        from octopus.forked import Beside
        pids = []
        with Beside(lambda: pids.append(os.getpid()), worth_it=False) as child:
            before = list(pids)
            child.wait()
        print(json.dumps({"forked": child.forked, "before": before, "after": pids,
                          "me": os.getpid()}))
        """,
        tmp_path,
    )
    assert not found["forked"] and found["before"] == [] and found["after"] == [found["me"]]


DELIVERY = """
import json, os
from pathlib import Path
from octopus import Experiment, Node
from octopus.stages import deliverables
from octopus.forked import Beside

forks = []
class Counting(Beside):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        forks.append(self.forked)
deliverables.Beside = Counting
deliverables.FORK_MIN_COMMANDS = {minimum}
experiment = Experiment(name="e", experiment_commands=[f"echo {{i}} 'it''s'" for i in range(400)],
                        shuffle_seed=3)
nodes = [Node(test_connection=False, ssh_hostname=f"n{{i}}", num_parallel_screens_or_jobs=2)
         for i in range(5)]
manifest, kept = deliverables.plan_delivery(experiment, nodes)
manifest.delivery, manifest.created = "D1", "2026-01-01T00:00:00+00:00"
manifest.scope, manifest.run_root = "s1", ".octopus/e@s1"
{before}
deliverables.write_deliverables(manifest, Path("out"), kept)
files = {{str(p): p.read_text() for p in sorted(Path("out").rglob("*")) if p.is_file()}}
print(json.dumps({{"forks": forks, "files": files}}))
"""


def test_a_delivery_written_by_two_processes_is_the_same_as_by_one(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = in_fresh_process(DELIVERY.format(minimum=10**9, before=""), tmp_path / "one")
    two = in_fresh_process(DELIVERY.format(minimum=0, before=""), tmp_path / "two")
    assert one["forks"] == [False] and two["forks"] == [True]
    assert len(one["files"]) == 5 * 2 + 5 * 3  # per node: 2 scripts, queue, manifest, id
    assert two["files"] == one["files"]


def test_a_script_the_child_cannot_write_fails_the_delivery_naming_it(tmp_path: Path) -> None:
    blocked = "Path('out/n0/run_exp_s1.sh').mkdir(parents=True)"  # the child's first node
    code = DELIVERY.format(minimum=0, before=blocked).replace(
        'deliverables.write_deliverables(manifest, Path("out"), kept)',
        "try:\n    deliverables.write_deliverables(manifest, Path('out'), kept)\n"
        "except Exception as exc:\n"
        "    print(json.dumps({'forks': forks, 'error': type(exc).__name__, 'said': str(exc),"
        " 'code': exc.exit_code}))\n    raise SystemExit(0)",
    )
    found = in_fresh_process(code, tmp_path)
    assert found["forks"] == [True]
    assert found["error"] == "ForkedWorkFailed" and found["code"] == 1
    assert "out/n0/run_exp_s1.sh" in found["said"] and "cannot write" in found["said"]


def test_a_ctrl_c_is_left_to_the_caller_and_the_child_writes_on(tmp_path: Path) -> None:
    found = in_fresh_process(
        """
        import json, os, signal, time
        from pathlib import Path
        from octopus.forked import Beside
        def work():
            time.sleep(1)
            Path("child.txt").write_text("written")
        with Beside(work) as child:
            time.sleep(0.3)  # the child is in its work by now
            os.kill(child._pid, signal.SIGINT)
            child.wait()
        print(json.dumps({"file": Path("child.txt").read_text()}))
        """,
        tmp_path,
    )
    assert found["file"] == "written"


def test_a_fork_that_fails_leaves_the_work_to_the_caller_and_no_descriptor(
    tmp_path: Path,
) -> None:
    found = in_fresh_process(
        """
        import json, os
        from octopus.forked import Beside
        def no_memory():
            raise OSError(12, "Cannot allocate memory")
        os.fork = no_memory
        before = len(os.listdir("/proc/self/fd"))
        pids = []
        with Beside(lambda: pids.append(os.getpid())) as child:
            forked = child.forked
            child.wait()
        after = len(os.listdir("/proc/self/fd"))
        print(json.dumps({"forked": forked, "ran": pids == [os.getpid()], "fds": after - before}))
        """,
        tmp_path,
    )
    assert found == {"forked": False, "ran": True, "fds": 0}
