"""`python -m octopus ...` is the `octopus` command: the tasks without a tasks.py."""

from octopus.cli.program import main

main()
