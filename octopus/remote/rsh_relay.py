"""rsync over a connection that is already open: the stage keeps one SSH login per node.

rsync starts its "remote shell" (`-e`) as `<program> <host> rsync --server ...`. Here that
program is `python .../octopus/rsh_relay.py <socket>`: it hands the command to this process over
a private UNIX socket, and the command runs in a new channel of the node's paramiko
connection, whose host key was checked when it opened. Frames back to the client: one byte
kind (o: stdout, e: stderr, x: exit status), four bytes length, payload.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import paramiko

_HEADER = struct.Struct("!cI")
_CHUNK = 65536


def _send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(kind, len(payload)) + payload)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class ChannelRelay:
    """Serves remote-shell requests on a UNIX socket by opening channels on `transport`."""

    def __init__(self, transport: paramiko.Transport, open_lock: Any = None) -> None:
        self.transport = transport
        self.open_lock = open_lock
        self.folder = Path(tempfile.mkdtemp(prefix="octopus-rsh-"))  # mode 0700
        self.path = str(self.folder / "relay.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(4)
        self.thread = threading.Thread(target=self._accept, daemon=True, name="octopus-rsh-relay")
        self.thread.start()

    def remote_shell(self) -> list[str]:
        """The argv to give rsync's -e: this Python, this module, this relay's socket."""
        # The file itself, not `-m octopus...`: the client side needs only the standard
        # library, and importing the octopus package would cost every rsync ~0.2 s.
        return [sys.executable, "-S", str(Path(__file__).resolve()), self.path]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                header = b""
                while not header.endswith(b"\n"):
                    header += _recv_exact(client, 1)
                argv = json.loads(header)
                status = self._run(client, " ".join(argv))
            except Exception as exc:  # reported to rsync as the remote shell's failure
                _send(client, b"e", f"octopus relay: {exc}\n".encode())
                status = 255
            _send(client, b"x", struct.pack("!i", status))

    def _run(self, client: socket.socket, command: str) -> int:
        if self.open_lock is not None:
            with self.open_lock:
                return self._exec(client, command)
        return self._exec(client, command)

    def _exec(self, client: socket.socket, command: str) -> int:
        channel = self.transport.open_session(timeout=30)
        channel.exec_command(command)

        def upstream() -> None:
            # The remote side may finish (and close the channel) before our input ends.
            with contextlib.suppress(Exception):
                while data := client.recv(_CHUNK):
                    channel.sendall(data)
                channel.shutdown_write()

        feeder = threading.Thread(target=upstream, daemon=True)
        feeder.start()
        while True:
            if channel.recv_ready():
                _send(client, b"o", channel.recv(_CHUNK))
            elif channel.recv_stderr_ready():
                _send(client, b"e", channel.recv_stderr(_CHUNK))
            elif channel.exit_status_ready():
                break
            else:
                select.select([channel], [], [], 0.05)
        while channel.recv_ready():
            _send(client, b"o", channel.recv(_CHUNK))
        while channel.recv_stderr_ready():
            _send(client, b"e", channel.recv_stderr(_CHUNK))
        status = channel.recv_exit_status()
        channel.close()
        return status

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """The remote-shell side rsync starts: forward stdin, replay the relay's frames."""
    path, command = argv[0], argv[1:]
    # rsync may hand us non-blocking descriptors; this side wants plain blocking I/O.
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.set_blocking(fd, True)
    while command and command[0] == "-l":  # `-l user`: the connection already has a user
        command = command[2:]
    command = command[1:]  # the host name: the connection already has a host
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(json.dumps(command).encode() + b"\n")

    def downstream_stdin() -> None:
        try:
            while data := os.read(0, _CHUNK):
                sock.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=downstream_stdin, daemon=True).start()
    while True:
        try:
            kind, size = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
            payload = _recv_exact(sock, size)
        except EOFError:
            return 255
        if kind == b"o":
            _write_all(1, payload)
        elif kind == b"e":
            _write_all(2, payload)
        else:
            return int(struct.unpack("!i", payload)[0])


if __name__ == "__main__":
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))
