"""This checkout's Invoke entry point: `inv --list` shows octopus' tasks.

A project of your own can do the same and add tasks beside them:

    from invoke import task
    from octopus.tasks import ns

    @task
    def plots(c): ...

    ns.add_task(plots)
"""

from octopus.tasks import ns

__all__ = ["ns"]
