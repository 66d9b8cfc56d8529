"""The command that reads one node's whole state in one round trip (run/status.py parses it).

It prints the delivery id, the node's clock, what the launcher knows of each worker (its
probe) and each worker's events file, or, with the offsets a monitor already read, what was
appended after them. A look at 32 nodes is mostly the processes each node starts for it, so
the command starts as few as it can: one `wc` for the sizes of all the events files, a
`tail` only for a file that grew, and the launcher's probe (`screen -ls`, `squeue`, ...)
only when a worker may still run. A worker the last look saw ended and gone (`settled`),
whose file did not grow, needs no probe: it cannot be alive without writing its start.
"""

from __future__ import annotations

from collections.abc import Collection

from octopus.remote.shell import quote_path
from octopus.run.layout import (
    CANCEL_FILE,
    DELIVERY_ID_FILE,
    FENCE_FILE,
    MARK,
    events_file,
)
from octopus.run.manifest import Manifest
from octopus.run.status import Prober


def status_command(
    manifest: Manifest,
    node: str,
    prober: Prober,
    offsets: dict[int, int] | None = None,
    settled: Collection[int] = (),
) -> str:
    """Shell text printing the delivery id, the node's clock, the launcher's probe of the
    workers and each worker's events: one round trip for the whole node. With `offsets`
    (job id -> bytes already read), only what was appended after them; a file now shorter
    (replaced, cut) is printed whole, and its marker says from where. The workers of
    `settled` (job ids the last look saw ended and not alive) are probed only when their
    file grew."""
    run = manifest.run_dir
    workers = manifest.workers_of(node)
    offsets = offsets or {}
    files = {w.job_id: events_file(w.job_id) for w in workers}
    lines = [
        f'cd "$HOME"/{quote_path(run)} 2>/dev/null || {{ echo "{MARK} none"; exit 0; }}',
        # A fenced node's workers stop before their next command; first, then read.
        *([f"touch {FENCE_FILE}"] if node in manifest.moved else []),
        # Builtins where the shell has them: a look at 32 nodes is mostly their processes.
        f'd=; read -r d 2>/dev/null < {DELIVERY_ID_FILE}; echo "{MARK} delivery $d"',
        f'echo "{MARK} now ${{EPOCHSECONDS:-$(date +%s)}}"',
        f'[ -e {CANCEL_FILE} ] && echo "{MARK} purged"',
    ]
    if workers:
        # Each file's size as octopus_s<job> (unset: no file), from one wc for them all.
        cases = " ".join(f"{name}) octopus_s{job}=$n ;;" for job, name in files.items())
        sizes = (
            "while read -r n f; do case $f in " + cases + " esac; done <<EOF\n"
            f"$(wc -c {' '.join(files.values())} 2>/dev/null)\nEOF"
        )
        probe = prober.probe_command(run, workers)
        # Probed first, sized and read after: a worker that ends in between shows its end,
        # never a command cut short. When every worker had ended and stays so (no file
        # grew), the launcher is not asked; else it is, and the files are sized again after.
        if all(job in settled for job in files):
            grew = " || ".join(f"[ ${{octopus_s{j}:-0}} != {offsets.get(j, 0)} ]" for j in files)
            lines += [sizes, f"if {grew}; then", probe, sizes, "fi"]
        else:
            lines += [probe, sizes]
    for job, name in files.items():
        offset = offsets.get(job, 0)
        size = f"${{octopus_s{job}:-0}}"
        # The newline first: a last line a crash cut short must not swallow the marker.
        lines.append(
            f"if [ {size} -lt {offset} ]; then "
            f'printf "\\n{MARK} events {job} 0\\n"; cat {name} 2>/dev/null; '
            f'else printf "\\n{MARK} events {job} {offset}\\n"; '
            f"if [ {size} -gt {offset} ]; then tail -c +{offset + 1} {name} 2>/dev/null; fi; fi"
        )
    # Read whole, the command exits 0: any other status is a read cut short (ReadStatus).
    lines.append("true")
    return "\n".join(lines)
