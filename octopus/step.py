"""`from octopus.step import ...`: the original module of every step, kept for existing files."""

from octopus.steps import *  # noqa: F403
from octopus.steps import LocalStep, Step, __all__  # noqa: F401
