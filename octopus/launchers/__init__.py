"""How workers are started, watched and stopped on a node: one small class per launcher.

Each launcher only builds shell text (pure, testable); the caller runs it on the node.
"""

from octopus.launchers.base import WorkerLauncher, launcher_for
from octopus.launchers.process import ProcessLauncher
from octopus.launchers.screen import ScreenLauncher

__all__ = ["ProcessLauncher", "ScreenLauncher", "WorkerLauncher", "launcher_for"]
