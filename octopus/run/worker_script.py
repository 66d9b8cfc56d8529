"""A worker's part of the plan -> the shell script that runs it on the node.

The script's text is the template `worker_script.sh` beside this module (a real shell file, so
shellcheck can read it). Each command is one quoted word in the script, evaluated in a subshell
of its own: it runs exactly as written, with its own shell options, its `exit` or `cd` cannot
end or move the worker, and a malformed command fails alone instead of breaking the script.
Each records its start, end and exit code in the worker's events file.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from importlib import resources

from octopus.run import layout
from octopus.run.plan_model import WorkerPlan
from octopus.run.workers import fill_placeholders

TEMPLATE = "worker_script.sh"
# The shared queue's part (schedule "queue"): its functions, then the claim in octopus_run.
QUEUE_TEMPLATE = "worker_queue.sh"
# Whole template lines replaced by generated text.
HEADER_LINE = "#@sbatch-header@\n"
BODY_LINE = "#@body@\n"
QUEUE_LINE = "#@queue@\n"
CLAIM_LINE = "#@claim@\n"


# A text shlex.quote leaves bare, between the NULs that join the texts in run_lines.
_BARE = re.compile(r"\0([\w@%+=:,./-]+)(?=\0)", re.ASCII)


def run_lines(ids: Sequence[int], texts: Sequence[str]) -> list[str]:
    """`octopus_run <id> <text>` and a newline for each command, its text (trailing blanks
    aside) one word quoted as shlex.quote quotes it. The texts are joined and quoted in a
    few passes over the whole, as a million calls of shlex.quote took most of a second."""
    if not texts:
        return []
    stripped = [text.rstrip() for text in texts]
    joined = "\0".join(stripped)
    if joined.count("\0") != len(stripped) - 1:  # a NUL of its own: quoted one by one
        return [f"octopus_run {i} {shlex.quote(t)}\n" for i, t in zip(ids, stripped, strict=True)]
    bare = set(_BARE.findall(f"\0{joined}\0"))
    quoted = joined.replace("'", "'\"'\"'").split("\0")
    if not bare:
        return [f"octopus_run {i} '{q}'\n" for i, q in zip(ids, quoted, strict=True)]
    return [
        f"octopus_run {i} {t}\n" if t in bare else f"octopus_run {i} '{q}'\n"
        for i, t, q in zip(ids, stripped, quoted, strict=True)
    ]


@functools.lru_cache(maxsize=1)
def _template() -> tuple[str, str]:
    """The template split at its body line: (head, tail)."""
    text = resources.files("octopus.run").joinpath(TEMPLATE).read_text(encoding="utf-8")
    head, tail = text.split(BODY_LINE)
    return head, tail


@functools.lru_cache(maxsize=1)
def _queue_template() -> tuple[str, str]:
    """The queue's functions and the claim taken in octopus_run."""
    text = resources.files("octopus.run").joinpath(QUEUE_TEMPLATE).read_text(encoding="utf-8")
    functions, claim = text.split(CLAIM_LINE)
    return functions, claim


def render_script(
    part: WorkerPlan,
    prefix: str,
    *,
    experiment: str,
    run_dir: str,
    delivery: str,
    stop_on_error: bool = False,
    header: str = "",
    parallel: int = 1,
    timeout: float | None = None,
    retries: int = 0,
    live_output: bool = False,
    queue: Sequence[int] | None = None,
    lines: Sequence[str] | None = None,
    queue_file: str = layout.QUEUE_FILE,
) -> str:
    """The shell script for one worker: the prefix, then each command recording its own state.

    `run_dir` is relative to the login directory ($HOME), as the same script must find its
    state when Slurm runs a copy of it from its spool directory. `header` goes right after the
    shebang (a launcher's #SBATCH lines: sbatch reads them only before the first command);
    with `parallel` > 1, up to that many commands run at once. `timeout` (seconds) stops a
    command that runs longer; `retries` runs a failed command up to that many more times.
    A command's output reaches the worker's output when it ends, or with `live_output` its
    stdout as it comes.

    With `queue` (the node's shared queue: the job ids of the peers whose commands it may
    take, in the order it goes to them), the worker claims each command before it runs it and
    skips those another worker claimed; after its own commands it goes through each peer's
    in the node's queue file (`queue_file`, the name; the text is `queue_file()`'s), tail
    first. `lines`: the part's `run_lines`, when the caller has them already.
    """
    worker = part.worker
    head, tail = _template()
    if queue is None:
        head = head.replace(QUEUE_LINE, "").replace(CLAIM_LINE, "")
    else:
        functions, claim = _queue_template()
        head = head.replace(QUEUE_LINE, functions).replace(CLAIM_LINE, claim)
    values = {
        "@JOB_ID@": str(worker.job_id),
        "@EXPERIMENT@": experiment,
        "@NODE@": worker.node,
        "@DELIVERY@": delivery,
        "@RUN_DIR@": run_dir,
        "@EVENTS_FILE@": layout.events_file(worker.job_id),
        "@STATE_DIR@": layout.STATE_DIR,
        "@LOGS_DIR@": layout.LOGS_DIR,
        "@STOP_ON_ERROR@": "1" if stop_on_error else "0",
        "@FENCE_FILE@": layout.FENCE_FILE,
        "@TIMEOUT@": f"{timeout:g}" if timeout else "",
        "@RETRIES@": str(retries),
        "@LIVE_OUTPUT@": "1" if live_output else "",
        "@SOCKET@": str(worker.socket),
        "@GPUS@": worker.gpus,
        "@CLAIMS_DIR@": layout.CLAIMS_DIR,
        "@QUEUE_FILE@": queue_file,
        # A command's files, named by layout alone: in code for the id in $1, in comments.
        "@STDOUT_LOG@": layout.command_log("$1", "out"),
        "@STDERR_LOG@": layout.command_log("$1", "err"),
        "@CLAIM_FILE@": layout.claim_file("$1"),
        "@STDOUT_NAME@": layout.command_log_name("<id>", "out"),
        "@STDERR_NAME@": layout.command_log_name("<id>", "err"),
    }
    for marker, value in values.items():
        head = head.replace(marker, value)
    parts = [head.replace(HEADER_LINE, header)]
    if worker.gpus:  # the worker's own GPUs (hardware.py), numbered as nvidia-smi numbers them
        parts.append(
            f"CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={worker.gpus}; "
            "export CUDA_DEVICE_ORDER CUDA_VISIBLE_DEVICES\n"
        )
    if prefix:
        parts.append(fill_placeholders(prefix, worker).rstrip("\n") + "\n")
    if parallel > 1:
        parts.append("OCTOPUS_PARALLEL=1\n")
    if lines is None:
        lines = run_lines(part.ids, part.commands)
    parts.extend(_body(lines, parallel))
    if queue:
        parts.append(f"octopus_queue {' '.join(map(str, queue))}\n")
    parts.append(tail)
    return "".join(parts)


def queue_file(
    parts: Sequence[WorkerPlan], parallel: int = 1, lines: Sequence[Sequence[str]] | None = None
) -> str:
    """The node's queue file (layout.QUEUE_FILE): for each worker, a shell function that runs
    its commands tail first (a peer that takes them starts where their owner arrives last),
    `parallel` at once as the worker script does. `lines`: each part's `run_lines`, when the
    caller has them already."""
    text = ["# The commands a worker may take from its peers (octopus_queue in each script).\n"]
    for index, part in enumerate(parts):
        own = lines[index] if lines is not None else run_lines(part.ids, part.commands)
        text.append(f"octopus_queue_s{part.worker.job_id}() {{\n:\n")
        text.extend(_body(own[::-1], parallel))
        text.append("}\n")
    return "".join(text)


def _body(lines: Sequence[str], parallel: int) -> Sequence[str]:
    """The calls a line each; with `parallel` > 1, up to that many at once inside the job's
    tasks (after OCTOPUS_PARALLEL=1), then a wait for the batch."""
    if parallel <= 1:
        return lines
    batched: list[str] = []
    for first in range(0, len(lines), parallel):
        batched.extend(line[:-1] + " &\n" for line in lines[first : first + parallel])
        batched.append("wait\noctopus_check_stop\n")
    return batched
