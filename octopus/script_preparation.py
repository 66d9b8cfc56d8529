"""`from octopus.script_preparation import ...`: the original module's public functions."""

from octopus.run.generators import (
    chunks,
    create_scripts_for_commands,
    distribute_exp_scripts,
    generate_cpu_exp_scripts,
    generate_exp_scripts_alternating_cuda_device,
    replicate_commands_per_hardware,
    strip_commands,
    strip_single_command,
)

__all__ = [
    "chunks",
    "create_scripts_for_commands",
    "distribute_exp_scripts",
    "generate_cpu_exp_scripts",
    "generate_exp_scripts_alternating_cuda_device",
    "replicate_commands_per_hardware",
    "strip_commands",
    "strip_single_command",
]
