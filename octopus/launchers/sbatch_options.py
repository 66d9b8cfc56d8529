"""Which sbatch options a user may add (`slurm_options` of an experiment or a node), checked
where they enter: octopus writes some itself, and every option becomes a `#SBATCH` line."""

from __future__ import annotations

import re
from typing import Any

from octopus.errors import ConfigError
from octopus.names import has_control_characters

# sbatch options octopus writes itself, from the experiment's slurm_* arguments.
OWN_OPTIONS = frozenset(
    {"job-name", "ntasks", "cpus-per-task", "gpus", "error", "output", "e", "o"}
)
# An sbatch long option's name, as written after `--`.
OPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")


def check_options(options: Any, key: str, node: str | None = None) -> dict[str, str]:
    """sbatch options (partition, time, mem, account, qos, constraint, ...) for #SBATCH lines:
    names without leading dashes (`mem_per_cpu` is `mem-per-cpu`), values as one line of text;
    ConfigError names what is wrong."""
    if not isinstance(options, dict):
        raise ConfigError("must be a mapping of sbatch options", key=key, node=node)
    cleaned = {}
    for name, value in options.items():
        option = str(name).lstrip("-").replace("_", "-")
        if not OPTION_NAME.fullmatch(option):
            raise ConfigError(
                f"{name!r} is not an sbatch option name (letters, digits and '-')",
                key=key,
                node=node,
            )
        if option in OWN_OPTIONS:
            raise ConfigError(
                f"'{name}' is set by octopus (see slurm_num_* arguments)", key=key, node=node
            )
        text = str(value)
        if has_control_characters(text):
            raise ConfigError(f"value of '{name}' must be one line of text", key=key, node=node)
        cleaned[option] = text
    return cleaned
