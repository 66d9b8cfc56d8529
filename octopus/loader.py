"""experiments/<name>.(py|yaml) -> Experiment, validated before anything connects.

A Python file builds an `Experiment(...)` at module level (named `experiment`, or the only
one); a YAML file holds the same fields, with steps written as `- SetupVenv: {force: true}`.
"""

from __future__ import annotations

import runpy
import traceback
from pathlib import Path
from typing import Any

from octopus.errors import ConfigError, did_you_mean, raise_all
from octopus.experiment import NODES, PYTHON_ONLY, STEPS, Experiment, yaml_fields
from octopus.names import check_name
from octopus.schema import matches, type_name
from octopus.step import build_step  # the facade: every step is registered by then
from octopus.steps.base import AnyStep
from octopus.yaml_cache import cached_parse
from octopus.yamlfile import LineDict, load_yaml

EXPERIMENTS_DIR = Path("experiments")
SUFFIXES = (".py", ".yaml", ".yml")


def find_experiment(spec: str, directory: Path = EXPERIMENTS_DIR) -> Path:
    """The file `--exp` means: a path as given, else experiments/<name>.(py|yaml|yml)."""
    as_path = Path(spec).expanduser()
    if as_path.suffix in SUFFIXES and as_path.is_file():
        return as_path
    for suffix in SUFFIXES:
        candidate = directory / f"{spec}{suffix}"
        if candidate.is_file():
            return candidate
    known = known_experiments(directory)
    hint = did_you_mean(spec, known)
    listing = ", ".join(known) or f"none in {directory}/"
    raise ConfigError(f"no experiment '{spec}'{hint}; known: {listing}")


def known_experiments(directory: Path = EXPERIMENTS_DIR) -> list[str]:
    """The names `--exp` finds in the experiments folder, sorted."""
    return sorted({p.stem for s in SUFFIXES for p in directory.glob(f"*{s}")})


def load_experiment(spec: str, directory: Path = EXPERIMENTS_DIR) -> Experiment:
    """Find and load an experiment by name or path; ConfigError(s) say what to fix and where."""
    path = find_experiment(spec, directory)
    experiment = _load_python(path) if path.suffix == ".py" else _load_yaml(path)
    experiment.source = str(path)
    return experiment


def _load_python(path: Path) -> Experiment:
    try:
        namespace = runpy.run_path(str(path), run_name=f"octopus_experiment_{path.stem}")
    except ConfigError as exc:
        raise exc.located(file=str(path), line=_line_in(path, exc)) from None
    except SystemExit:
        raise ConfigError(
            "exited while being loaded (is it a script expecting arguments?)", file=str(path)
        ) from None
    except Exception as exc:
        raise ConfigError(
            f"{type(exc).__name__}: {exc}", file=str(path), line=_line_in(path, exc)
        ) from None
    found = {k: v for k, v in namespace.items() if isinstance(v, Experiment)}
    if "experiment" in found:
        experiment = found["experiment"]
    elif len(found) == 1:
        experiment = next(iter(found.values()))
    elif not found:
        raise ConfigError(
            "defines no Experiment at module level (e.g. experiment = Experiment(...))",
            file=str(path),
        )
    else:
        raise ConfigError(
            f"defines several Experiments ({', '.join(found)}); name the one to run `experiment`",
            file=str(path),
        )
    if not experiment.name_given:
        try:
            experiment.name = check_name("experiment name (the file's name)", path.stem)
        except ConfigError as exc:
            raise exc.located(file=str(path)) from None
    return experiment


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The last line of `path` in the exception's traceback."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line


def _load_yaml(path: Path) -> Experiment:
    data = cached_parse(path, load_yaml)  # a file of many commands is parsed once
    source = str(path)
    if not isinstance(data, LineDict):
        raise ConfigError("must be a mapping of Experiment fields", file=source, line=1)
    errors: list[ConfigError] = []
    fields: dict[str, Any] = {}
    known = yaml_fields()
    for key, value in data.items():
        line = data.line_of(key)
        if key not in known:
            errors.append(
                ConfigError(
                    f"unknown field{did_you_mean(str(key), known)}",
                    file=source,
                    line=line,
                    key=str(key),
                )
            )
            continue
        expected, kind = known[key]
        if kind == STEPS:
            steps, step_errors = _yaml_steps(key, value, source, data)
            errors += step_errors
            fields[key] = steps
        elif kind == NODES:
            names, tags, node_errors = _yaml_nodes(value, source, line)
            errors += node_errors
            fields["node_names"] = names
            fields["node_tags"] = tags
        elif kind == PYTHON_ONLY:
            errors.append(
                ConfigError(
                    f"{key} can only be set from a Python experiment",
                    file=source,
                    line=line,
                    key=key,
                )
            )
        elif value is None:
            continue  # null means the field's default
        else:
            if not matches(value, expected):
                written = data.text_of(key)
                hint = (
                    f" (write it in quotes: '{written}')"
                    if written and isinstance(value, (int, float)) and matches("", expected)
                    else ""
                )
                errors.append(
                    ConfigError(
                        f"must be {type_name(expected)}, not {value!r}{hint}",
                        file=source,
                        line=line,
                        key=str(key),
                    )
                )
            fields[key] = value
    raise_all(errors)
    fields.setdefault("name", path.stem)
    try:
        return Experiment(**fields)
    except ConfigError as exc:
        line = None
        if exc.key is not None:
            line = data.line_of_item(exc.key, exc.item) if exc.item is not None else None
            line = line or data.line_of(exc.key)
        raise exc.located(file=source, line=line) from None


def _yaml_steps(
    field: str, value: Any, source: str, data: LineDict
) -> tuple[list[AnyStep], list[ConfigError]]:
    """A step list: `- Name`, `- Name: {arguments}` or `- Name: value` (the value of the
    step's one required argument); each error names the step's own line."""
    line = data.line_of(field)
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [
            ConfigError(
                "must be a list of steps, e.g. `- Cmd: 'echo hi'`",
                file=source,
                line=line,
                key=field,
            )
        ]
    steps: list[AnyStep] = []
    errors: list[ConfigError] = []
    for index, item in enumerate(value):
        item_line = data.line_of_item(field, index)
        if isinstance(item, str):
            name, args = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
        else:
            errors.append(
                ConfigError(
                    f"each step is a name or `Name: {{arguments}}`, not {item!r}",
                    file=source,
                    line=item_line,
                    key=field,
                )
            )
            continue
        try:
            steps.append(build_step(str(name), args, file=source, line=item_line))
        except ConfigError as exc:
            errors += getattr(exc, "errors", [exc])
    return steps, errors


def _yaml_nodes(
    value: Any, source: str, line: int | None
) -> tuple[list[str], list[str], list[ConfigError]]:
    if value is None:
        return [], [], []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value), [], []
    if isinstance(value, dict) and set(value) <= {"names", "tags"}:
        names, tags = value.get("names") or [], value.get("tags") or []
        if matches(names, list[str]) and matches(tags, list[str]):
            return list(names), list(tags), []
    return (
        [],
        [],
        [
            ConfigError(
                "must be a list of node names, or {names: [...], tags: [...]}",
                file=source,
                line=line,
                key="nodes",
            )
        ],
    )
