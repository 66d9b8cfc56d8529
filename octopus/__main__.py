"""`python -m octopus ...` is the `octopus` command: the tasks without a tasks.py."""

from octopus.program import main

main()
