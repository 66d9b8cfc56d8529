"""The README's table of Experiment fields, made from the one declaration in experiment.py
(a unit test keeps the README equal to it)."""

from __future__ import annotations

import dataclasses
import json
import typing

from octopus.experiment import NODES, NOT_IN_YAML, PYTHON_ONLY, STEPS, Experiment
from octopus.schema import type_name


def fields_table() -> str:
    """The README's table of Experiment fields, from the declaration above."""
    hints = typing.get_type_hints(Experiment)
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Experiment):
        if not f.init or f.metadata.get("kind") == NOT_IN_YAML:
            continue
        if f.metadata.get("alias_of"):
            meaning = f"the original's other name for `{f.metadata['alias_of']}`"
        else:
            meaning = f.metadata.get("help", "")
        value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        default = json.dumps(value)  # as YAML writes it: null, false, "", []
        kind = f.metadata.get("kind")
        written = {STEPS: "list of steps", NODES: "node names or {names, tags}"}.get(
            kind or "", type_name(hints[f.name])
        )
        if kind == PYTHON_ONLY:
            written = "function (Python only)"
        rows.append(f"| `{f.name}` | {written} | `{default}` | {meaning} |")
    return "\n".join(rows) + "\n"
