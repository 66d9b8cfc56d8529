"""The experiment as a GNU parallel joblog (`parallel --joblog`), so that the tools people
already have for those files read it: a header, then one tab-separated line per finished
command, in start order.

    Seq  Host  Starttime  JobRuntime  Send  Receive  Exitval  Signal  Command

Seq is octopus' command id; Host the name the node gave itself; times are seconds with
milliseconds, as parallel writes them. octopus keeps no byte counts (Send, Receive: 0). A
command killed by a signal exits 128 + n in its shell: its Exitval is that, and Signal n.
"""

from __future__ import annotations

from octopus.run.events import CommandStatus

HEADER = (
    "Seq",
    "Host",
    "Starttime",
    "JobRuntime",
    "Send",
    "Receive",
    "Exitval",
    "Signal",
    "Command",
)


def joblog_lines(statuses: list[CommandStatus]) -> list[str]:
    """The joblog's lines (header first), for the commands that ended."""
    lines = ["\t".join(HEADER)]
    ended = [s for s in statuses if s.started is not None and s.ended is not None]
    for s in sorted(ended, key=lambda s: (s.started or 0.0, s.id)):
        code = s.exit_code if s.exit_code is not None else -1
        signal = code - 128 if 128 < code < 128 + 65 else 0
        runtime = (s.ended or 0.0) - (s.started or 0.0)
        command = " ".join(s.command.split())  # one line per command, as parallel's
        fields = (s.id, s.host or s.node, f"{s.started:.3f}", f"{runtime:.3f}", 0, 0, code, signal)
        lines.append("\t".join(str(f) for f in fields) + "\t" + command)
    return lines
