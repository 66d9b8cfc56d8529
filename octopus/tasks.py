"""`from octopus.tasks import ns`: octopus' Invoke collection, for a project's own tasks.py."""

from octopus.cli.tasks import ns

__all__ = ["ns"]
