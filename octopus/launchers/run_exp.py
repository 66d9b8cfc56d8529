"""Workers under the lab's `run_exp` reservation tool, inside detached screen sessions.

As the original octopus ran it: screen -d -m -S <session> run_exp -m "<message> (Socket <s>)"
--numa <s> [--exclusive] [--pin] [--time H:M] "<script> > output_screen<i> 2>&1". Every
argument is quoted for the login shell; screen hands run_exp its arguments unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from octopus.launchers.screen import ScreenLauncher
from octopus.scripts import Worker
from octopus.shell import join, quote_path


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
    options = RunExpOptions()

    def start_command(self, delivery_dir: str, worker: Worker, script: str) -> str:
        session = self.paths.worker_session(worker.job_id)
        output = self.output_file(worker)
        command = f"./{quote_path(script)} >> {output} 2>&1"
        argv = self.options.argv(worker.socket, command)
        return f"cd {self.run_dir(delivery_dir)} && screen -d -m -S {session} {join(argv)}"
