"""CombineCSVFiles tells which command wrote a results file when the file names it, and adds
that command's node, id and grid parameters as columns; a file it cannot tell gets blanks."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from octopus.steps.csv_origin import CommandRef, Origins
from octopus.steps.local import CombineCSVFiles

REFS = [
    CommandRef(0, "h1", "python3 train.py --seed 1 --out results/run_1.csv", {"seed": 1}),
    CommandRef(1, "h2", "python3 train.py --seed 2 --out=results/run_2.csv", {"seed": 2}),
    CommandRef(2, "h1", "python3 eval.py > runs/a/summary.csv", {}),
    CommandRef(3, "h2", "python3 eval.py > runs/b/summary.csv", {}),
    CommandRef(4, "h1", "python3 x.py --log out.csv", {}),
    CommandRef(5, "h2", "python3 x.py --log out.csv", {}),
]


def test_a_file_is_the_command_whose_words_name_it() -> None:
    origins = Origins(REFS)
    assert origins.of("deliverables/e/results/run_2.csv") == REFS[1]
    assert origins.of("deliverables/e/runs/b/summary.csv") == REFS[3]  # the longer end
    assert origins.of("deliverables/e/out.csv") is None  # two commands name it alike
    assert origins.of("deliverables/e/other.csv") is None


def test_the_combined_file_gets_node_id_and_parameters(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "run_1.csv").write_text("seed,value\n1,0.5\n")  # its own seed column wins
    (results / "run_2.csv").write_text("value\n0.7\n")
    (results / "stray.csv").write_text("value\n0.9\n")
    step = CombineCSVFiles(str(results / "*.csv"), str(tmp_path / "all.csv"))
    step.commands = REFS
    step.run()
    with (tmp_path / "all.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["seed", "value", "node", "command_id"]
    assert rows == [
        {"seed": "1", "value": "0.5", "node": "h1", "command_id": "0"},
        {"seed": "2", "value": "0.7", "node": "h2", "command_id": "1"},
        {"seed": "", "value": "0.9", "node": "", "command_id": ""},
    ]


def test_without_commands_the_output_is_as_before(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    step = CombineCSVFiles(str(tmp_path / "a.csv"), str(tmp_path / "all.csv"))
    step.run()
    assert (tmp_path / "all.csv").read_text().splitlines() == ["x", "1"]


def test_files_older_than_the_delivery_stay_out_unless_asked_for(tmp_path: Path) -> None:
    (tmp_path / "new.csv").write_text("x\n1\n")
    (tmp_path / "old.csv").write_text("x\n0\n")
    an_hour_ago = time.time() - 3600
    os.utime(tmp_path / "old.csv", (an_hour_ago, an_hour_ago))
    for every, expected in ((False, ["x", "1"]), (True, ["x", "1", "0"])):
        step = CombineCSVFiles(
            str(tmp_path / "*.csv"), str(tmp_path / "out" / "all.csv"), all_deliveries=every
        )
        step.delivered_at = time.time() - 600  # a node's clock may lag: 60 s are allowed
        step.run()
        assert sorted((tmp_path / "out" / "all.csv").read_text().splitlines()) == sorted(expected)
