"""A real single-node Slurm (munge, slurmctld, slurmd) inside one SSH test host.

The daemons run in the host's namespaces, so jobs see the host's own /home and the host's
login user submits with plain `sbatch`: the test host is the cluster's login node. The facts
this relies on are in docs/slurm.md. Daemons are stopped by the PIDs recorded when they
started; stopping the host stops them too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from octopus.testing.errors import HarnessError
from octopus.testing.host import TestHost
from octopus.testing.machine import STATE_PARENT
from octopus.testing.process import inner_pid

SLURM_CONF_TEMPLATE = """\
ClusterName=octotest
SlurmctldHost={host}(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
EnforcePartLimits=ALL
KillWait=5
MinJobAge=300
SchedulerParameters=batch_sched_delay=0
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def slurm_state_dir() -> Path:
    """A private folder for one Slurm, made before the SSH hosts so their sshd can point at it."""
    root = Path(tempfile.mkdtemp(prefix="octopus-slurm-", dir=STATE_PARENT))
    os.chmod(root, 0o755)
    return root


@dataclass
class TestSlurm:
    """munge + slurmctld + slurmd for one test host; `conf` is what SLURM_CONF must say."""

    __test__ = False  # not a pytest test class

    host: TestHost
    root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_in: float = 0.0

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def _spawn(self, argv: list[str], name: str) -> subprocess.Popen[bytes]:
        assert self.host.process is not None
        target = str(inner_pid(self.host.process.pid))
        log = open(self.root / f"{name}.out", "wb")  # noqa: SIM115 (kept open by the child)
        proc = subprocess.Popen(
            ["nsenter", "--target", target, "--all", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SLURM_CONF": str(self.conf)},
            start_new_session=True,
        )
        log.close()
        self.processes.append(proc)
        return proc

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        assert self.host.process is not None
        target = str(inner_pid(self.host.process.pid))
        return subprocess.run(
            ["nsenter", "--target", target, "--all", *argv],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "SLURM_CONF": str(self.conf)},
        )

    def start(self, timeout: float = 30) -> None:
        began = time.monotonic()
        for sub in ("munge", "state", "spool"):
            (self.root / sub).mkdir(exist_ok=True)
        os.chmod(self.root / "munge", 0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        os.chmod(key, 0o400)
        self.conf.write_text(SLURM_CONF_TEMPLATE.format(host=self.host.name, root=self.root))
        # An ordinary user reads job records through this file (jobcomp/filetxt).
        (self.root / "jobcomp.txt").touch(mode=0o666)
        munge = self.root / "munge"
        self._spawn(
            [
                "munged",
                "--foreground",
                f"--key-file={key}",
                f"--socket={munge}/munge.sock",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={munge}/munged.log",
                f"--seed-file={munge}/seed",
            ],
            "munged",
        )
        self._wait(lambda: (munge / "munge.sock").exists(), "munged", began + timeout)
        self._spawn(["slurmctld", "-D", "-i"], "slurmctld")
        self._spawn(["slurmd", "-D", "-N", self.host.name], "slurmd")
        self._wait(
            lambda: "UP" in self._run(["scontrol", "ping"]).stdout, "slurmctld", began + timeout
        )
        self._wait(
            lambda: (
                self._run(["sinfo", "-h", "-N", "-o", "%T"]).stdout.strip()
                in ("idle", "mixed", "allocated")
            ),
            "slurmd",
            began + timeout,
        )
        self.started_in = time.monotonic() - began

    def _wait(self, ready: object, what: str, deadline: float) -> None:
        while not ready():  # type: ignore[operator]
            for proc in self.processes:
                if proc.poll() is not None:
                    raise HarnessError(f"{what}: a Slurm daemon exited: {self.logs()}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{what} did not come up: {self.logs()}")
            time.sleep(0.05)

    def logs(self) -> str:
        parts = []
        for name in ("munged.out", "slurmctld.out", "slurmd.out", "slurmctld.log", "slurmd.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def squeue(self, *args: str) -> str:
        return self._run(["squeue", *args]).stdout

    def stop(self) -> None:
        """Stop the daemons this started (each nsenter's child first, then nsenter itself)."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                with contextlib.suppress(OSError, HarnessError):
                    child = inner_pid(proc.pid)
                    os.kill(child, 15)
                proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
