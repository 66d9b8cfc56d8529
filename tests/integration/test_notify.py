"""Notifications on a real host, to a real SMTP server (aiosmtpd), a real HTTP server and a
command, all on loopback: the first failure and the end are each sent once per target however
often monitor runs, a target that failed is tried again without resending to the others, and
`inv run` ends with the summary line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from octopus.testing.sshhosts import TestCluster
from tests.conftest import wait_for, write_inventory


class Mailbox:
    """aiosmtpd's handler: every message it was given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:  # a free port on loopback (aiosmtpd checks it connects)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Hooks(ThreadingHTTPServer):
    """An incoming-webhook server: keeps each JSON body; answers 500 `failures` times first."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.failures = failures
        super().__init__(("127.0.0.1", 0), _Hook)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/T0?token=secret"


class _Hook(BaseHTTPRequestHandler):
    server: Hooks

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.failures:
            self.server.failures -= 1
            self.send_response(500)
        else:
            self.server.bodies.append(json.loads(body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks(failures=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def octopus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopus", *args], cwd=cwd, capture_output=True, text=True
    )


def test_first_failure_and_end_are_each_sent_once_to_each_target(
    cluster: TestCluster, workdir: Path, mailbox: tuple[Mailbox, int], hooks: Hooks
) -> None:
    box, port = mailbox
    host = cluster.hosts[0]
    write_inventory(
        workdir / "nodes.yaml",
        {"h1": cluster.node_values(host, num_parallel_screens_or_jobs=2)},
    )
    got = workdir / "got.jsonl"
    (workdir / "experiments").mkdir()
    gate = f"/home/{cluster.user}/notify-gate"
    host.exec(f"rm -f {gate}")
    experiment = {
        "experiment_commands": ["exit 3", f"while [ ! -e {gate} ]; do sleep 0.2; done"],
        "notify": {
            "email": {"to": "me@lab.org", "smtp_host": "127.0.0.1", "smtp_port": port},
            "command": f"cat >> {got} && echo >> {got}",
        },
    }
    (workdir / "experiments" / "n.yaml").write_text(yaml.safe_dump(experiment))
    for stage in ("deliver", "start"):
        assert octopus(stage, "--exp", "n", cwd=workdir).returncode == 0
    notify = ("--notify", hooks.url)

    def failed_seen() -> bool:
        done = octopus("monitor", "--exp", "n", *notify, cwd=workdir)
        return "1 failed" in done.stdout

    assert wait_for(failed_seen, timeout=60)
    # The webhook answered 500 once: it alone is tried again, by the next monitor.
    again = octopus("monitor", "--exp", "n", *notify, cwd=workdir)
    assert box.subjects() == [s for s in box.subjects() if "first failure" in s]
    assert len(box.subjects()) == 1 and "n: first failure: h1 #" in box.subjects()[0]
    assert "(exit 3): exit 3" in box.subjects()[0]
    assert len(got.read_text().splitlines()) == 1
    assert hooks.failures == 0 and "tries again" not in again.stdout  # its 500 was given
    assert [b["event"] for b in hooks.bodies] == ["first_failure"], again.stdout
    assert "secret" not in (workdir / "deliverables" / "n" / "notified.json").read_text()
    octopus("monitor", "--exp", "n", *notify, cwd=workdir)
    assert len(box.messages) == 1 and len(hooks.bodies) == 1  # nothing new: nothing sent

    host.exec(f"touch {gate}")

    def finished() -> bool:
        done = octopus("monitor", "--exp", "n", *notify, cwd=workdir)
        return "n finished in" in done.stdout

    assert wait_for(finished, timeout=60)
    for _ in range(2):  # cron runs it again and again: the end is said once
        octopus("monitor", "--exp", "n", *notify, cwd=workdir)
    subjects = box.subjects()
    assert len(subjects) == 2 and subjects[1].startswith("n finished in ")
    assert "1 done, 1 failed (h1 #" in subjects[1] and subjects[1].endswith("0 lost")
    assert "exit 3" in box.messages[1].get_payload()  # the details list the failure
    events = [json.loads(line)["event"] for line in got.read_text().splitlines()]
    assert events == ["first_failure", "ended"]
    assert [b["event"] for b in hooks.bodies] == ["first_failure", "ended"]
    ended = hooks.bodies[1]
    assert ended["text"] == subjects[1] and ended["totals"]["failed"] == 1
    assert ended["failed"][0]["exit_code"] == 3 and ended["failed"][0]["node"] == "h1"


def test_run_ends_with_the_summary_line_and_one_notice(
    cluster: TestCluster, workdir: Path, hooks: Hooks
) -> None:
    host = cluster.hosts[1]
    write_inventory(workdir / "nodes.yaml", {"h2": cluster.node_values(host)})
    (workdir / "experiments").mkdir()
    (workdir / "experiments" / "r.yaml").write_text(
        yaml.safe_dump({"experiment_commands": ["true", "true", "exit 4"]})
    )
    hooks.failures = 0
    done = octopus("run", "--exp", "r", "--notify", hooks.url, "--interval", "0.5", cwd=workdir)
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("r finished in ") and ": 2 done, 1 failed (h2 #" in last, last
    assert last.endswith(", 0 lost")
    assert len(hooks.bodies) == 1 and hooks.bodies[0]["event"] == "ended"
    assert hooks.bodies[0]["text"] == last


def test_a_wrong_target_is_one_line_naming_it(workdir: Path) -> None:
    (workdir / "experiments").mkdir()
    (workdir / "nodes.yaml").write_text("nodes: {local: {local: true}}\n")
    (workdir / "experiments" / "w.yaml").write_text(
        yaml.safe_dump({"experiment_commands": ["true"], "notify": {"emial": "me@lab.org"}})
    )
    done = octopus("monitor", "--exp", "w", cwd=workdir)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "notify has no target 'emial' (did you mean 'email'?)" in done.stderr
