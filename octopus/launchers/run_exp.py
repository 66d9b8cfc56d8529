"""Workers under the lab's `run_exp` reservation tool, inside detached screen sessions, and
what its listing says about a node (`judge_reservations`, for `inv select-nodes`).

As the original octopus ran it: screen -d -m -S <session> run_exp -m "<message> (Socket <s>)"
--numa <s> [--exclusive] [--pin] [--time H:M] "<script> > output_screen<i> 2>&1". Every
argument is quoted for the login shell; screen hands run_exp its arguments unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octopus.launchers.screen import ScreenLauncher
from octopus.remote.shell import join, quote_path
from octopus.run.layout import ExperimentPaths
from octopus.run.workers import Worker


@dataclass(frozen=True)
class RunExpOptions:
    message: str = "Experiment"
    numa_socket: int | None = None
    exclusive: bool = False
    pin: bool = False
    expected_time: str | None = None

    def argv(self, socket: int, command: str) -> list[str]:
        numa = self.numa_socket if self.numa_socket is not None else socket
        argv = ["run_exp", "-m", f"{self.message} (Socket {numa})", "--numa", str(numa)]
        if self.exclusive:
            argv.append("--exclusive")
        if self.pin:
            argv.append("--pin")
        if self.expected_time:
            argv += ["--time", self.expected_time]
        return [*argv, command]


class RunExpLauncher(ScreenLauncher):
    name = "run_exp"

    def __init__(
        self, paths: ExperimentPaths, settings: dict[str, Any] | None = None, node: str = ""
    ) -> None:
        super().__init__(paths, settings, node)
        # The experiment's run_exp_* settings, as the manifest recorded them.
        self.options = RunExpOptions(**(self.settings.get("run_exp") or {}))

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        session = self.session_name(worker.job_id)
        output = self.output_file(worker)
        command = f"./{quote_path(script)} >> {output} 2>&1"
        argv = self.options.argv(worker.socket, command)
        return f"cd {self.run_dir(delivery_dir)} && screen -d -m -S {session} {join(argv)}"


@dataclass
class Availability:
    available: bool
    reason: str
    own_running: bool = False


def judge_reservations(listing: str, whitelist: list[str], username: str | None) -> Availability:
    """Free unless someone holds the node exclusively or a non-whitelisted user shares it."""
    lines = [line for line in listing.splitlines() if line.strip()]
    own = bool(username) and any("Start:" in line and username in line.split() for line in lines)
    if any("EXCLUSIVE" in line for line in lines):
        return Availability(False, "taken exclusively", own)
    foreign = [
        line
        for line in lines
        if "Start:" in line
        and not (username and username in line.split())
        and not any(user in line for user in whitelist)
    ]
    if foreign:
        return Availability(
            False,
            f"shared with users not in run_exp_white_list_users: {foreign[0].strip()[:60]}",
            own,
        )
    return Availability(True, "free" if not lines else "shared with whitelisted users", own)
