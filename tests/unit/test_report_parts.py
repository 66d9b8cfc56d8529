"""The report's pure parts: the GNU parallel joblog, `--where`, a report without matplotlib
keeping its tables and saying how to add the plots, and a failure's last lines of stderr and
stdout, each labelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopus.errors import ConfigError
from octopus.node import Node
from octopus.run.deliveries import Deliveries
from octopus.run.events import CommandState, CommandStatus
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.views import report_plots
from octopus.views.joblog import joblog_lines
from octopus.views.report_data import ReportData, parse_where
from octopus.views.report_html import render


def status(ident: int, state: CommandState, code: int | None, start: float | None) -> CommandStatus:
    end = None if start is None else start + 1.5
    return CommandStatus(ident, "n1", 0, f"cmd\n{ident}", state, code, start, end, 1, host="h")


def test_the_joblog_has_parallels_columns_and_the_ended_commands_in_start_order() -> None:
    lines = joblog_lines(
        [
            status(2, CommandState.FAILED, 137, 20.0),
            status(1, CommandState.DONE, 0, 10.0),
            status(3, CommandState.PENDING, None, None),
        ]
    )
    assert lines == [
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand",
        "1\th\t10.000\t1.500\t0\t0\t0\t0\tcmd 1",
        "2\th\t20.000\t1.500\t0\t0\t137\t9\tcmd 2",  # killed by SIGKILL: 128 + 9
    ]


def test_where_takes_name_value_pairs() -> None:
    assert parse_where(["model=gat", "seed = 2"]) == {"model": "gat", "seed": "2"}
    with pytest.raises(ConfigError, match="--where takes name=value"):
        parse_where(["model"])


def test_without_matplotlib_the_report_keeps_its_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(test_connection=False, ssh_hostname="n1", num_parallel_screens_or_jobs=1)
    record = Deliveries("e")
    record.take_over(Manifest("e", "D1", build_plan(["a", "b"], "", [node]), {}, ".octopus/e"))
    statuses = [status(0, CommandState.DONE, 0, 1.0), status(1, CommandState.FAILED, 2, 3.0)]
    data = ReportData("e", statuses, {1: {"model": "gat", "seed": 2}}, record, tmp_path)
    monkeypatch.setattr(report_plots, "available", lambda: False)
    page = render(data)
    assert "The plots need matplotlib" in page and "octopus-runner[report]" in page
    assert "1 done, 1 failed (n1 #1)" in page and "its log is not home yet" in page
    assert "<svg" not in page
    assert "model=gat, seed=2" in page  # a failure's grid parameters are beside it


def test_a_failure_shows_its_stderr_then_its_stdout_each_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(test_connection=False, ssh_hostname="n1", num_parallel_screens_or_jobs=1)
    record = Deliveries("e")
    record.take_over(Manifest("e", "D1", build_plan(list("abcd"), "", [node]), {}, ".octopus/e"))
    home = tmp_path / "n1"
    home.mkdir()
    (home / "0.out").write_text("".join(f"epoch {n}\n" for n in range(30)))
    (home / "0.err").write_text("Traceback (most recent call last):\nValueError: bad <lr>\n")
    (home / "1.out").write_text("")
    (home / "1.err").write_text("")
    (home / "2.log").write_text("both streams, before they were kept apart\n")
    statuses = [status(i, CommandState.FAILED, 1, float(i)) for i in range(4)]
    data = ReportData("e", statuses, {}, record, tmp_path)
    assert data.log_tail(statuses[0]) == [
        ("stderr", ["Traceback (most recent call last):", "ValueError: bad <lr>"]),
        ("stdout", [f"epoch {n}" for n in range(10, 30)]),
    ]
    assert data.log_tail(statuses[1]) == []
    assert data.log_tail(statuses[2]) == [("output", ["both streams, before they were kept apart"])]
    assert data.log_tail(statuses[3]) is None
    monkeypatch.setattr(report_plots, "available", lambda: False)
    page = render(data)
    stderr = page.index('<p class="stream">stderr</p><pre>Traceback')
    assert (
        stderr
        < page.index('<p class="stream">stdout</p><pre>epoch 10\n')
        < page.index("<td>#1</td>")
    )
    assert "ValueError: bad &lt;lr&gt;" in page and "epoch 9\n" not in page
    assert "it printed nothing" in page and "its log is not home yet" in page
