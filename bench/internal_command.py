"""One of octopus' own commands on a connection already open to a real test host.

Three ways, interleaved in one run, medians of --runs: octopus' quick path
(`NodeConnection.quick`, what state reads and checks use), Invoke's runner (`NodeConnection.run`
with hide=True, what they used before) and a bare paramiko `exec_command` reading stdout and
the exit status (the floor). Each runs the same short command; octopus wraps both of its
ways in `ends_with_channel`, the bare one runs the command as is.

Run as root from the checkout:
    .venv/bin/python bench/internal_command.py [--runs 200] [--command 'echo hi']
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from octopus.node import Node
from octopus.remote.connection import open_connection
from octopus.remote.ssh import NodeConnection
from octopus.testing.sshhosts import TestCluster


def raw_exec(conn: NodeConnection, command: str) -> None:
    assert conn.transport is not None
    chan = conn.transport.open_session()
    chan.exec_command(command)
    chan.makefile("rb").read()
    chan.recv_exit_status()
    chan.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--command", default="echo hi")
    args = parser.parse_args()
    command: str = args.command
    with TestCluster(1) as cluster:
        host = cluster.hosts[0]
        node = Node(name=host.name, **cluster.node_values(host))  # type: ignore[arg-type]
        conn = open_connection(node)
        assert isinstance(conn, NodeConnection)
        ways: dict[str, Callable[[], object]] = {
            "octopus quick (`conn.quick`)": lambda: conn.quick(command, timeout=10),
            "Invoke's Runner (`conn.run`, hide=True)": lambda: conn.run(
                command, hide=True, timeout=10
            ),
            "raw paramiko exec_command": lambda: raw_exec(conn, command),
        }
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for call in ways.values():  # warm up: first channel, imports, caches
            call()
        for _ in range(args.runs):
            for name, call in ways.items():
                began = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - began)
        conn.close()
    print(f"| way | median | p90 |  (`{command}`, {args.runs} runs each, interleaved)")
    print("|---|---|---|")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"| {name} | {statistics.median(values) * 1000:.2f} ms | {p90 * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
