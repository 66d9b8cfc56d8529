"""`from octopus.step import ...`: every step an experiment can use, where the original octopus
kept them (one module); YAML files name them by class name. Importing this module registers
them all."""

from octopus.steps.base import LocalStep, Step, check_steps
from octopus.steps.commands import (
    CheckActiveScreens,
    CheckOutput,
    Cmd,
    CountGeneratedFiles,
    PythonCmd,
    ScreenCmd,
)
from octopus.steps.context import StepContext, StepFailed
from octopus.steps.files import SCP, Remove, RemoveRecursively, Rsync, RsyncCurrentRepo
from octopus.steps.kill import KillAllScreens, KillAllSlurmJobs
from octopus.steps.local import CombineCSVFiles, CreateScript, LocalCmd, LocalCopy, LocalMethodCall
from octopus.steps.registry import build_step, step_class, step_names
from octopus.steps.repos import CloneRepo, DownloadGDriveFolder
from octopus.steps.venvs import SetupRYEVenv, SetupUvVenv, SetupVenv

__all__ = [
    "SCP",
    "CheckActiveScreens",
    "CheckOutput",
    "CloneRepo",
    "Cmd",
    "CombineCSVFiles",
    "CountGeneratedFiles",
    "CreateScript",
    "DownloadGDriveFolder",
    "KillAllScreens",
    "KillAllSlurmJobs",
    "LocalCmd",
    "LocalCopy",
    "LocalMethodCall",
    "LocalStep",
    "PythonCmd",
    "Remove",
    "RemoveRecursively",
    "Rsync",
    "RsyncCurrentRepo",
    "ScreenCmd",
    "SetupRYEVenv",
    "SetupUvVenv",
    "SetupVenv",
    "Step",
    "StepContext",
    "StepFailed",
    "build_step",
    "check_steps",
    "step_class",
    "step_names",
]
