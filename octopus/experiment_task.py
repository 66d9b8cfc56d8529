"""The lifecycle stages of an experiment, as the original octopus named them."""

from __future__ import annotations

from enum import Enum


class ExperimentTask(Enum):
    """A stage; `str()` gives its value, so it works as an argparse type and in choices."""

    SELECT_RUNEXP_NODES = "select_runexp_nodes"
    SETUP = "setup"
    DELIVER_SCRIPTS = "deliver"
    START = "start"
    MONITOR = "monitor"
    PICKUP = "pickup"
    PURGE = "purge"
    CHECK_ERRORS = "check_errors"
    PRINT = "print"
    DELIVER = "deliver"  # alias of DELIVER_SCRIPTS

    def __str__(self) -> str:
        return self.value

    @property
    def task_name(self) -> str:
        """The task that runs it (`inv check-errors`): how its output and log name it."""
        return _TASK_NAMES.get(self.value, self.value)


# Stages whose task is named otherwise than the original's value.
_TASK_NAMES = {"select_runexp_nodes": "select-nodes", "check_errors": "check-errors"}
