"""`from octopus.script_preparation import ...`: the original generators, for existing files."""

from octopus.run.generators import chunks, distribute_exp_scripts, replicate_commands_per_hardware

__all__ = ["chunks", "distribute_exp_scripts", "replicate_commands_per_hardware"]
