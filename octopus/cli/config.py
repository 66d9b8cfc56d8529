"""Invoke's configuration as octopus reads it: its YAML files parsed like nodes.yaml (one
ConfigError line naming file and line, never a traceback) and the `octopus:` section checked.

Invoke reads invoke.yaml with yaml.safe_load and merges it blindly: a typo there ended in a
traceback from deep inside Invoke, after the task had started. The `octopus` program uses
OctopusConfig; tasks run from a project's own tasks.py (`inv`) get the section checked when
they read it (octopus_settings), and the file that holds a wrong key is read again as octopus
reads it, so the error names the file and line there too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke.config import AmbiguousMergeError, Config
from invoke.exceptions import AmbiguousEnvVar, UncastableEnvVar

from octopus.errors import ConfigError, did_you_mean, raise_all
from octopus.run.layout import INVENTORY_FILE as DEFAULT_INVENTORY
from octopus.yamlfile import LineDict, decode, parse_yaml

SECTION = "octopus"
# Nodes worked on at once: more threads than this only cost memory.
MAX_PARALLEL = 1024
# What each key must be, as the end of "must be ...".
HELP = {
    "exp": "text: the experiment a task runs without --exp (a name in experiments/ or a path)",
    "inventory": "text: the inventory file's path",
    "parallel": f"a whole number from 0 to {MAX_PARALLEL}: nodes worked on at once (0: default)",
}


@dataclass(frozen=True)
class Settings:
    """The `octopus:` section of Invoke's config, checked."""

    exp: str | None = None
    inventory: str = DEFAULT_INVENTORY
    parallel: int = 0


def check_section(
    section: Any, *, file: str | None = None, line: int | None = None
) -> list[ConfigError]:
    """The problems of an `octopus:` section (from one file, or merged from all of Invoke's
    sources), each naming the key and what it must be."""
    where: dict[str, Any] = {"file": file, "line": line}
    if section is None:
        return []
    if not isinstance(section, Mapping):
        return [ConfigError(f"must be a mapping of: {', '.join(HELP)}", key=SECTION, **where)]
    errors = []
    for key, value in section.items():
        if isinstance(section, LineDict):
            where["line"] = section.line_of(key)
        name = f"{SECTION}.{key}"
        if key not in HELP:
            hint = did_you_mean(key, HELP)
            errors.append(
                ConfigError(f"unknown key{hint}; valid: {', '.join(HELP)}", key=name, **where)
            )
        elif not _valid(key, value):
            errors.append(ConfigError(f"must be {HELP[key]}, not {value!r}", key=name, **where))
    return errors


def _valid(key: str, value: Any) -> bool:
    if value is None:
        return True  # null: the default
    if key in ("exp", "inventory"):
        return isinstance(value, str) and bool(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PARALLEL


def octopus_settings(config: Any) -> Settings:
    """The checked `octopus:` section of an Invoke config (any of its sources)."""
    section = config.get(SECTION) if hasattr(config, "get") else None
    if section is not None and not isinstance(section, Mapping) and hasattr(section, "items"):
        section = dict(section.items())  # Invoke's DataProxy
    errors = check_section(section)
    if errors:
        _raise_from_its_file(config)
        raise_all(errors)
    section = section or {}
    return Settings(
        exp=section.get("exp") or None,
        inventory=section.get("inventory") or DEFAULT_INVENTORY,
        parallel=section.get("parallel") or 0,
    )


def _conflict(base: Mapping[Any, Any], update: Mapping[Any, Any], prefix: str = "") -> Any:
    """The first key that is a mapping on one side and not on the other, as (dotted key, the
    mapping it is in, whether Invoke's value is a mapping); None when they merge."""
    for key, value in update.items():
        if key not in base:
            continue
        if isinstance(value, dict) != isinstance(base[key], dict):
            return f"{prefix}{key}", update, key, isinstance(base[key], dict)
        if isinstance(value, dict):
            found = _conflict(base[key], value, f"{prefix}{key}.")
            if found:
                return found
    return None


def read_config_file(path: Any) -> dict[Any, Any]:
    """One of Invoke's YAML or JSON config files, read as octopus reads YAML (one line naming
    file and line on any problem) with its `octopus:` section checked."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise  # Invoke tries invoke.yaml, .yml, .json and .py in turn
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=source) from None
    if source.endswith(".json"):
        try:
            data = json.loads(decode(raw, source))
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"invalid JSON: {exc}", file=source) from None
    else:
        data = parse_yaml(decode(raw, source), source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of Invoke settings", file=source, line=1)
    line = data.line_of(SECTION) if isinstance(data, LineDict) else None
    raise_all(check_section(data.get(SECTION), file=source, line=line))
    return data


# Invoke's config levels that come from files, highest first.
FILE_LEVELS = ("runtime", "project", "user", "system")


def _raise_from_its_file(config: Any) -> None:
    """When Invoke itself read the files (`inv` with a project's tasks.py), its config does
    not know lines: find the file whose `octopus:` section is wrong and raise its errors with
    file and line, as the `octopus` program does."""
    for level in FILE_LEVELS:
        path = getattr(config, f"_{level}_path", None)
        data = getattr(config, f"_{level}", None)
        if not path or not isinstance(data, Mapping) or not check_section(data.get(SECTION)):
            continue
        if str(path).endswith((".yaml", ".yml", ".json")):
            read_config_file(path)
        raise_all(check_section(data.get(SECTION), file=str(path)))


class OctopusConfig(Config):
    """Invoke's Config whose files are read as octopus reads YAML, with the octopus section
    checked as it is loaded and merge conflicts reported with the file and key."""

    def _load_yaml(self, path: Any) -> Any:
        return read_config_file(path)

    _load_yml = _load_yaml
    _load_json = _load_yaml

    def _merge_file(self, name: str, desc: str) -> None:
        data = getattr(self, f"_{name}")
        if getattr(self, f"_{name}_found") and isinstance(data, dict):
            found = _conflict(self._config, data)
            if found:
                key, where, last, expected = found
                line = where.line_of(last) if isinstance(where, LineDict) else None
                kind = "a mapping" if expected else "a single value, not a mapping"
                raise ConfigError(
                    f"must be {kind}, as in Invoke's own settings",
                    file=str(getattr(self, f"_{name}_path")),
                    line=line,
                    key=key,
                )
        super()._merge_file(name, desc)

    def load_shell_env(self) -> None:
        try:
            super().load_shell_env()
        except (AmbiguousEnvVar, UncastableEnvVar, ValueError) as exc:
            raise ConfigError(f"an INVOKE_* environment variable: {exc}") from None


def invoke_config_error(exc: BaseException) -> ConfigError | None:
    """What Invoke's own program (`inv` with a project's tasks.py) raises on a config file it
    cannot parse or merge, as one ConfigError line; None for anything else."""
    if isinstance(exc, AmbiguousMergeError):
        return ConfigError(
            "an Invoke config file (invoke.yaml?) has a single value where Invoke's settings "
            "have a mapping, or the reverse; the `octopus` command names the file and key"
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None or not type(exc).__module__.startswith(("yaml.", "invoke.vendor.yaml")):
        return None
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
    return ConfigError(f"invalid YAML: {problem}", file=str(mark.name), line=mark.line + 1)


def project_config() -> OctopusConfig:
    """The config the `octopus` program starts from: system and user files, and invoke.yaml
    in the current folder (as `inv` reads the one beside tasks.py)."""
    config = OctopusConfig(project_location=Path.cwd())
    config.load_project()
    return config
