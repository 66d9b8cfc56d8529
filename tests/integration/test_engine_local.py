"""The stage engine on the local connection (no SSH): values back from steps, failures, tags,
local steps as barriers, dry runs and for_each_node. Files are written under tmp_path only."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

import octopus
from octopus.node import Node
from octopus.output import StageOutput
from octopus.results import Outcome
from octopus.stages.engine import run_stage
from octopus.stages.for_each_node import for_each_node
from octopus.step import Cmd, LocalCmd, LocalMethodCall, LocalStep, Step


class _Returns(Step):
    """Returns a fixed value (or what a function makes of the context)."""

    def __init__(self, value, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def execute(self, ctx):
        return self.value(ctx) if callable(self.value) else self.value


class _Raises(LocalStep):
    def run(self):
        raise RuntimeError("local trouble")


class _Undescribable(Step):
    def commands(self, ctx):
        raise ValueError("cannot describe")


def local_node(name="local", tags=()):
    return Node(local=True, name=name, test_connection=False, tags=set(tags))


def make_output():
    buffer = io.StringIO()
    return StageOutput(Console(file=buffer, width=200, no_color=True)), buffer


def stage(steps, nodes=None, **options):
    output, buffer = make_output()
    options.setdefault("experiment", None)
    report = run_stage("test", steps, nodes or [local_node()], output=output, **options)
    return report, buffer.getvalue()


def lines_of(path):
    return path.read_text().splitlines() if path.exists() else []


# -- values ---------------------------------------------------------------------------------


def test_a_steps_value_becomes_the_nodes_data(tmp_path):
    experiment = octopus.Experiment(name="t", exp_folder_name="tmpdir-name")
    report, _ = stage(
        [
            _Returns(lambda ctx: (ctx.name, ctx.experiment.name, ctx.experiment.exp_folder)),
            Cmd(cmd=f"touch {tmp_path}/ran"),  # returns None: the value stays
        ],
        experiment=experiment,
    )
    assert report.ok and report.exit_code == 0
    [result] = report.results
    assert result.outcome is Outcome.OK
    assert result.data == ("local", "t", "tmpdir-name")
    assert result.message == "2 steps run"
    assert report.data() == {"local": ("local", "t", "tmpdir-name")}
    assert (tmp_path / "ran").exists()


def test_a_later_value_replaces_an_earlier_one_and_runs_on_the_node(tmp_path):
    def read(ctx):
        return ctx.run(f"cat {tmp_path}/value", show=False).stdout.strip()

    report, _ = stage(
        [_Returns(1), Cmd(cmd=f"echo from-the-node > {tmp_path}/value"), _Returns(read)]
    )
    assert report.results[0].data == "from-the-node"


def test_each_node_gets_its_own_data():
    nodes = [local_node("l1"), local_node("l2")]
    report, _ = stage([_Returns(lambda ctx: ctx.name.upper())], nodes)
    assert [(r.node, r.data) for r in report.results] == [("l1", "L1"), ("l2", "L2")]


# -- failures -------------------------------------------------------------------------------


def test_a_failing_command_fails_the_node_with_code_step_and_stderr(tmp_path):
    report, text = stage(
        [
            _Returns("before"),
            Cmd(cmd="echo first-line >&2; echo last words >&2; exit 3"),
            Cmd(cmd=f"touch {tmp_path}/after"),
            _Returns("never"),
        ]
    )
    assert not report.ok and report.exit_code == 1
    [result] = report.results
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == 3
    assert result.step == "2 Cmd"
    assert result.message == "exited with 3"
    assert result.stderr_tail == "first-line\nlast words"
    assert result.data == "before"  # what the steps before it returned
    assert not (tmp_path / "after").exists()
    assert "local: last words" in text
    assert "[3 Cmd]" not in text


def test_one_nodes_failure_leaves_the_others_going(tmp_path):
    nodes = [local_node("bad", tags=["bad"]), local_node("good")]
    report, _ = stage(
        [
            Cmd(cmd="exit 5", tags=["bad"]),
            Cmd(cmd=f"echo ran >> {tmp_path}/count"),
        ],
        nodes,
    )
    outcome = {r.node: r.outcome for r in report.results}
    assert outcome == {"bad": Outcome.FAILED, "good": Outcome.OK}
    assert lines_of(tmp_path / "count") == ["ran"]


def test_an_exception_in_a_step_fails_the_node_with_its_type():
    def boom(ctx):
        raise ValueError("bad input")

    report, _ = stage([_Returns(boom)])
    [result] = report.results
    assert result.outcome is Outcome.FAILED
    assert result.message == "ValueError: bad input"
    assert result.step == "1 _Returns"
    assert result.exit_code is None


# -- local steps ----------------------------------------------------------------------------


def test_a_local_step_runs_once_after_the_remote_steps_before_it(tmp_path):
    log = tmp_path / "log"
    seen = []
    nodes = [local_node("l1", tags=["one"]), local_node("l2", tags=["two"])]

    def look():
        seen.append(sorted(lines_of(log)))

    report, text = stage(
        [
            Cmd(cmd=f"sleep 0.3 && echo one >> {log}", tags=["one"]),
            Cmd(cmd=f"echo two >> {log}", tags=["two"]),
            LocalMethodCall(look),
            Cmd(cmd=f"echo after >> {log}"),
        ],
        nodes,
    )
    assert report.ok, text
    assert seen == [["one", "two"]]  # once, with both nodes' earlier steps done
    assert sorted(lines_of(log)) == ["after", "after", "one", "two"]
    assert lines_of(log)[-2:] == ["after", "after"]
    assert "here: [3 LocalMethodCall]" in text


def test_a_local_command_step_runs_here(tmp_path):
    report, _ = stage([LocalCmd(cmd=f"echo here > {tmp_path}/local.txt")])
    assert report.ok
    assert lines_of(tmp_path / "local.txt") == ["here"]
    assert report.results[0].outcome is Outcome.OK


def test_a_raising_local_step_ends_the_stage(tmp_path):
    report, _ = stage(
        [
            Cmd(cmd=f"touch {tmp_path}/before"),
            _Raises(),
            Cmd(cmd=f"touch {tmp_path}/after"),
        ]
    )
    assert report.local_failures == ["[2 _Raises] RuntimeError: local trouble"]
    assert not report.ok and report.exit_code == 1
    assert (tmp_path / "before").exists()
    assert not (tmp_path / "after").exists()
    # The node itself did nothing wrong.
    assert report.results[0].outcome is Outcome.OK


def test_a_failing_local_command_is_a_local_failure(tmp_path):
    report, _ = stage([LocalCmd(cmd="exit 4"), Cmd(cmd=f"touch {tmp_path}/after")])
    assert len(report.local_failures) == 1
    assert "LocalCmd exited with 4" in report.local_failures[0]
    assert not (tmp_path / "after").exists()


# -- tags -----------------------------------------------------------------------------------


def test_tags_skip_a_step(tmp_path):
    report, text = stage([Cmd(cmd=f"touch {tmp_path}/tagged", tags=["x"])])
    [result] = report.results
    assert result.outcome is Outcome.SKIPPED
    assert result.ok and report.ok
    assert result.message == "0 steps run, 1 skipped by tags"
    assert not (tmp_path / "tagged").exists()
    assert "local: [1 Cmd] skipped: node has none of tags ['x']" in text


def test_tags_pick_the_nodes_a_step_runs_on(tmp_path):
    nodes = [local_node("gpu", tags=["x"]), local_node("cpu")]
    report, _ = stage(
        [Cmd(cmd=f"echo tagged >> {tmp_path}/tagged", tags=["x"]), _Returns("v")], nodes
    )
    outcome = {r.node: (r.outcome, r.message) for r in report.results}
    assert outcome == {
        "gpu": (Outcome.OK, "2 steps run"),
        "cpu": (Outcome.OK, "1 step run, 1 skipped by tags"),
    }
    assert lines_of(tmp_path / "tagged") == ["tagged"]


# -- dry run --------------------------------------------------------------------------------


def test_a_dry_run_runs_nothing_and_says_what_it_would(tmp_path):
    called = []
    target = tmp_path / "made"
    report, text = stage(
        [
            Cmd(cmd=f"touch {target}"),
            LocalMethodCall(lambda: called.append(1)),
            LocalCmd(cmd=f"touch {tmp_path}/local"),
            _Returns("value"),
        ],
        dry_run=True,
    )
    assert report.ok
    assert not target.exists() and not (tmp_path / "local").exists()
    assert called == []
    assert report.results[0].data is None
    assert "(dry run: nothing is changed)" in text
    assert f"local: [1 Cmd] would run: touch {target}" in text
    assert f"here: [3 LocalCmd] would run: touch {tmp_path}/local" in text
    assert "would run: LocalMethodCall(<lambda>)" in text


def test_a_step_that_cannot_describe_itself_in_a_dry_run_fails_only_its_node():
    nodes = [local_node("l1", tags=["bad"]), local_node("l2")]
    report, _ = stage([_Undescribable(tags=["bad"]), Cmd(cmd="true")], nodes, dry_run=True)
    assert {r.node: r.outcome for r in report.results} == {
        "l1": Outcome.FAILED,
        "l2": Outcome.OK,
    }


def test_a_step_that_raises_in_a_real_run_fails_only_its_node():
    nodes = [local_node("l1", tags=["bad"]), local_node("l2")]
    report, _ = stage([_Undescribable(tags=["bad"]), Cmd(cmd="true")], nodes)
    results = {r.node: r for r in report.results}
    assert results["l1"].outcome is Outcome.FAILED
    assert results["l1"].message == "ValueError: cannot describe"
    assert results["l2"].outcome is Outcome.OK


# -- for_each_node --------------------------------------------------------------------------


def test_for_each_node_returns_each_nodes_value():
    nodes = [local_node("l1"), local_node("l2")]
    threads = set()

    def work(node, conn):
        threads.add(threading.current_thread().name)
        return (node.name, conn.run("echo $((6 * 7))", hide=True).stdout.strip())

    results = for_each_node(nodes, work)
    assert [r.node for r in results] == ["l1", "l2"]
    assert [r.outcome for r in results] == [Outcome.OK, Outcome.OK]
    assert [r.data for r in results] == [("l1", "42"), ("l2", "42")]
    assert all(name.startswith("octopus-node") for name in threads)


def test_for_each_node_turns_an_exception_into_a_failed_result():
    def work(node, conn):
        if node.name == "l2":
            raise KeyError("missing")
        return "fine"

    output, buffer = make_output()
    results = for_each_node([local_node("l1"), local_node("l2")], work, output=output)
    by_node = {r.node: r for r in results}
    assert by_node["l1"].outcome is Outcome.OK and by_node["l1"].data == "fine"
    assert by_node["l2"].outcome is Outcome.FAILED
    assert by_node["l2"].message == "KeyError: 'missing'"
    assert by_node["l2"].data is None
    assert "[1 work]" in buffer.getvalue()


@pytest.mark.parametrize("parallel", [1, 4])
def test_for_each_node_with_any_parallelism(parallel, tmp_path):
    nodes = [local_node(f"l{i}") for i in range(3)]

    def work(node, conn):
        conn.run(f"echo {node.name} >> {tmp_path}/seen", hide=True)
        return node.name

    results = for_each_node(nodes, work, parallel=parallel)
    assert [r.data for r in results] == ["l0", "l1", "l2"]
    assert sorted(lines_of(tmp_path / "seen")) == ["l0", "l1", "l2"]
