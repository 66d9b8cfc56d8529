"""The one owner of names and paths: deliverables here, run files there, sessions and jobs.

Everything an experiment leaves on a node or in a session list carries the experiment's
name, so two experiments on one node never collide and purging one leaves the other alone.
Local files live under `deliverables/` at the project's root (the nearest folder up from
the current one that holds nodes.yaml or tasks.py), so a task run from a subfolder finds them.
Remote paths are relative to the login folder.
"""

from __future__ import annotations

import functools
import hashlib
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

# The marker that starts every line octopus' own remote commands print for a parser to read.
MARK = "@@octopus"

SESSION_PREFIX = "oct"
DELIVERABLES = "deliverables"
MANIFEST = "manifest.json"
# Beside it: each delivery's commands, apart from the record (.plans/<delivery>-<token>.json),
# so reading which node holds which delivery does not read a million commands. (A dot:
# beside it are the folders named after nodes.)
PLANS_DIR = ".plans"
LEDGER = "ledger.sqlite"
# The ledger of earlier versions, read once, then kept under the second name.
LEGACY_LEDGER = "ledger.json"
IMPORTED_LEDGER = "ledger.json.imported"
RECORDS_LOCK = ".records.lock"
# Which notifications of the experiment were sent, for the deliveries they were about.
NOTIFIED = "notified.json"
# What `inv report` writes: deliverables/<exp>/report/index.html, and joblog.tsv with --joblog.
REPORT_DIR = "report"
REPORT_PAGE = "index.html"
JOBLOG = "joblog.tsv"
REMOTE_ROOT = ".octopus"
# The inventory a project keeps beside its tasks.py.
INVENTORY_FILE = "nodes.yaml"
# Files that mark a folder as an octopus project (see project_root).
PROJECT_MARKERS = (INVENTORY_FILE, "tasks.py")

# Inside a delivery folder on a node (and beside each node's scripts here).
DELIVERY_ID_FILE = "DELIVERY"
# A node's shared queue (schedule "queue"): each of its workers' commands, tail first, as one
# shell function per worker (octopus_queue_s<i>); a worker takes its peers' from it once its
# own are done. One file per node, where a copy in every script made a node's delivery grow
# with the square of its workers.
QUEUE_FILE = "queue.sh"
# Present when octopus moved this node's unfinished work elsewhere (rebalance): its workers
# stop before their next command.
FENCE_FILE = "FENCE"
# Present when `inv purge` stopped the delivery's workers: what they had not finished is
# cancelled (on purpose), not lost. Starting workers again removes it.
CANCEL_FILE = "CANCELLED"
STATE_DIR = "state"
LOGS_DIR = "logs"
# Each command's stdout and stderr are kept apart in logs/ (<id>.out, <id>.err), as GNU
# parallel's --results keeps them; the worker's output (output_screen<i>) still has both.
STDOUT_SUFFIX = ".out"
STDERR_SUFFIX = ".err"
Stream = Literal["out", "err"]
STREAM_SUFFIXES: dict[Stream, str] = {"out": STDOUT_SUFFIX, "err": STDERR_SUFFIX}
STREAMS: tuple[Stream, ...] = tuple(STREAM_SUFFIXES)
# A delivery made before they were kept apart has one log per command, both streams in it:
# read as the command's stdout.
COMBINED_SUFFIX = ".log"
# In a node's shared queue a command's stdout file is also its claim: the worker that creates
# it (one exclusive create) runs the command, and a queue costs no file more than its logs. A
# claim another node's workers took (`--steal`) is an empty <id>.out here. Claims of commands
# that run again are cleared by moving both their files aside, to <id>.out.earlier and
# <id>.err.earlier (appended), so the earlier attempts stay readable.
CLAIMS_DIR = LOGS_DIR
EARLIER_LOG = ".earlier"


def regex_literal(name: str) -> str:
    """A session or job name as an extended regular expression matching just itself (names
    hold letters, digits, '-', '_' and '.', of which only '.' is special)."""
    return name.replace(".", "\\.")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder from `start` (the current one) upwards that holds nodes.yaml or
    tasks.py; `start` itself when none does."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_file() for marker in PROJECT_MARKERS):
            return folder
    return here


# Hex digits of a checkout's id in remote names: 16.7 million values, so two checkouts that
# share a node and an experiment name practically never meet.
SCOPE_LENGTH = 6


def project_scope(root: Path) -> str:
    """The id of this checkout on this machine, carried by its remote folders, sessions and
    jobs: two checkouts (another clone, another laptop) never touch each other's workers."""
    seed = f"{socket.gethostname()}\0{root.resolve()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:SCOPE_LENGTH]


def worker_label(job_id: int) -> str:
    """How a worker is named in tables, files and sessions: s<job_id>."""
    return f"s{job_id}"


def script_name(job_id: int, suffix: str = "") -> str:
    """A worker's script; `suffix` tells a resumed worker's later scripts apart."""
    return f"run_exp_s{job_id}{suffix}.sh"


def start_queue_file(moment: datetime) -> str:
    """The queue file of the workers one `inv start` (--resume, --retry-failed, a steal)
    starts with new scripts: the commands they owe, not the delivery's whole lists."""
    return f"queue.{moment:%Y%m%dT%H%M%S%fZ}.sh"


def events_file(job_id: int) -> str:
    """The worker's per-command state, relative to the delivery folder."""
    return f"{STATE_DIR}/{worker_label(job_id)}.events"


def claim_file(command_id: int | str) -> str:
    """A command's claim in its node's shared queue, relative to the delivery folder: its
    stdout file, which the worker writes anyway (so a claim costs no file of its own)."""
    return command_log(command_id, "out")


def command_log_name(command_id: int | str, stream: Stream = "out") -> str:
    """A command's stdout (`stream` "out") or stderr ("err") file: in the delivery's logs/ on
    the node, and in deliverables/<exp>/logs/<node>/ once pickup brought it home (a shell word
    or pattern such as `"$i"` or `*` gives the name in a shell loop or glob). Kept apart, so
    a failure's traceback is read without the progress lines around it."""
    return f"{command_id}{STREAM_SUFFIXES[stream]}"


def combined_log_name(command_id: int | str) -> str:
    """A command's one log (stdout and stderr together) in a delivery made before the two
    were kept apart: read as its stdout when <id>.out is not there."""
    return f"{command_id}{COMBINED_SUFFIX}"


def command_log(command_id: int | str, stream: Stream = "out") -> str:
    """One command's stdout (or with `stream` "err" its stderr), relative to the delivery
    folder."""
    return f"{LOGS_DIR}/{command_log_name(command_id, stream)}"


def output_file(job_id: int) -> str:
    """All output of one worker, relative to the delivery folder (the original's name)."""
    return f"output_screen{job_id}"


def pid_file(job_id: int) -> str:
    """The process launcher's record of a worker's PID, relative to the delivery folder."""
    return f"pids/{worker_label(job_id)}.pid"


def job_file(job_id: int) -> str:
    """The Slurm launcher's record of a worker's job id, relative to the delivery folder."""
    return f"jobs/{worker_label(job_id)}.jobid"


def slurm_output(job_id: int, stream: str) -> str:
    """sbatch's -e/-o files of a worker (stream 'err' or 'out'), as the original named them."""
    return f"job_{job_id}.{stream}"


def delivery_dir(run_root: str, delivery: str) -> str:
    """A delivery's folder on a node, relative to the login folder."""
    return f"{run_root}/deliveries/{delivery}"


# The link a delivery's upload brings beside `current`: this and the delivery's id.
PENDING_CURRENT = "current."


def pending_current(run_root: str, delivery: str) -> tuple[str, str]:
    """The link a delivery's upload brings (its path relative to the login folder, and its
    target), which the switch renames over `current`."""
    return f"{run_root}/{PENDING_CURRENT}{delivery}", f"deliveries/{delivery}"


@dataclass(frozen=True)
class ExperimentPaths:
    """Where an experiment's files live, here and on the nodes, and what its sessions are called."""

    name: str
    # The project folder; None: found by project_root() when a local path is first needed,
    # so a launcher that only wants session names never looks at the file system.
    project: Path | None = None
    # The checkout's id in remote names: None for this checkout's (project_scope), "" for
    # none, as deliveries made before ids were kept named their folders and sessions.
    scope: str | None = None

    @functools.cached_property
    def root(self) -> Path:
        return self.project or project_root()

    @functools.cached_property
    def scope_id(self) -> str:
        return self.scope if self.scope is not None else project_scope(self.root)

    def unscoped(self) -> ExperimentPaths:
        """The same experiment as older versions named it on the nodes (no checkout id)."""
        return ExperimentPaths(self.name, self.project, "")

    @property
    def key(self) -> str:
        """The experiment's name as it appears in files and sessions: the name itself, which
        names.py keeps to letters, digits, '-', '_' and '.' (so names map one to one)."""
        return self.name

    # -- here ----------------------------------------------------------------------------

    @property
    def deliverables(self) -> Path:
        return self.root / DELIVERABLES / self.key

    def node_dir(self, node: str) -> Path:
        return self.deliverables / node

    @property
    def manifest(self) -> Path:
        return self.deliverables / MANIFEST

    @property
    def ledger(self) -> Path:
        return self.deliverables / LEDGER

    @property
    def records_lock(self) -> Path:
        """Held while a process reads, changes and writes the manifest or the ledger."""
        return self.deliverables / RECORDS_LOCK

    @property
    def notified(self) -> Path:
        return self.deliverables / NOTIFIED

    @property
    def report_page(self) -> Path:
        return self.deliverables / REPORT_DIR / REPORT_PAGE

    @property
    def joblog(self) -> Path:
        return self.deliverables / REPORT_DIR / JOBLOG

    @property
    def log_dir(self) -> Path:
        return self.deliverables / LOGS_DIR

    def stage_log(self, stage: str, when: datetime | None = None) -> Path:
        moment = when or datetime.now(timezone.utc)
        return self.log_dir / f"{stage}-{moment:%Y%m%dT%H%M%S%fZ}.log"

    # -- sessions and jobs -----------------------------------------------------------------

    @property
    def session_prefix(self) -> str:
        """Every screen session and Slurm job of this experiment starts with this."""
        scope = self.scope_id
        return f"{SESSION_PREFIX}-{scope}-{self.key}-" if scope else f"{SESSION_PREFIX}-{self.key}-"

    def worker_session(self, job_id: int) -> str:
        return f"{self.session_prefix}{worker_label(job_id)}"

    def step_session(self, tag: str) -> str:
        """The screen session of a ScreenCmd step (tag: a digest of its commands)."""
        return f"{self.session_prefix}cmd-{tag}"

    @property
    def session_regex(self) -> str:
        """An extended regular expression (grep -E, awk) matching exactly the names of this
        experiment's sessions and jobs: whole names, so experiment `a` never matches `a-b`'s."""
        return f"{regex_literal(self.session_prefix)}(s[0-9]+|cmd-[0-9a-f]+)"

    def is_session(self, name: str) -> bool:
        return re.fullmatch(self.session_regex, name) is not None

    # -- on the nodes ----------------------------------------------------------------------

    @property
    def remote_run_dir(self) -> str:
        """The experiment's own directory on a node, relative to the login directory: '@'
        never occurs in a name, so no experiment's folder holds another's."""
        scope = self.scope_id
        return f"{REMOTE_ROOT}/{self.key}@{scope}" if scope else f"{REMOTE_ROOT}/{self.key}"

    @property
    def remote_current(self) -> str:
        """The link to the newest delivery on a node."""
        return f"{self.remote_run_dir}/current"
