"""`from octopus.script_preparation import ...`: the original generators, for existing files."""

from octopus.scripts import chunks, distribute_exp_scripts, replicate_commands_per_hardware

__all__ = ["chunks", "distribute_exp_scripts", "replicate_commands_per_hardware"]
