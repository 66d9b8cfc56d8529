"""`inv --list` and `inv --help` load the task declarations only: no SSH, no stage, no node
code (they are loaded when a task runs), so listing tasks is about as quick as Invoke's own."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("paramiko", "fabric", "rich", "octopus.node", "octopus.stages.engine", "octopus.step")


def test_the_collection_loads_without_the_ssh_stack():
    probe = f"import sys, octopus.tasks; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# What `inv monitor --json` (and cron's plain monitor) loads: it draws nothing with rich and
# sends mail only when a notice is due.
MONITOR = ("octopus.tasks", "octopus.cli.options", "octopus.stages.monitor")
DRAWING_AND_MAIL = ("rich", "smtplib", "urllib.request", "http.client", "webbrowser")


def test_a_monitor_that_draws_nothing_loads_no_rich_and_no_mail() -> None:
    probe = (
        f"import sys\nfor m in {MONITOR!r}: __import__(m)\n"
        f"print(','.join(m for m in {DRAWING_AND_MAIL!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_package_names_still_load_on_first_use():
    probe = (
        "import octopus; from octopus import Cmd, Node, Experiment, SetupVenv, ExperimentTask; "
        "from octopus import *; print(Cmd.__name__, KillAllScreens.__name__, octopus.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Cmd", "KillAllScreens", "0.1.0"]


def test_paramiko_records_never_reach_stderr() -> None:
    """A node that went away makes paramiko log "Socket exception: Bad file descriptor (9)";
    without a handler of the program's own, Python printed that between octopus' lines."""
    code = (
        "import logging, octopus.remote.connection\n"
        "log = logging.getLogger('paramiko.transport')\n"
        "log.error('Socket exception: Bad file descriptor (9)')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""


LEFT_AT_EXIT = """
{imports}
import gc
gc.disable()
class Linked:
    def __del__(self): print("walked")
first, second = Linked(), Linked()
first.other, second.other = second, first
del first, second
"""


def test_the_command_line_process_ends_without_a_last_collector_walk() -> None:
    """The command line leaves what is alive at its end to the process' end, with no walk of
    the collector over it (process_end.py); a program using the Python API keeps Python's."""
    for imports, walked in (("import octopus.tasks", ""), ("import octopus", "walked\nwalked")):
        code = LEFT_AT_EXIT.format(imports=imports)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == walked
