"""Host key checking for paramiko clients against known_hosts files, as OpenSSH does it.

Every key a server shows goes through one policy (`judge`): a revoked key, or one signed by a
revoked CA -> refused; a host certificate signed by a `@cert-authority` listed for the host,
valid for it -> go on; otherwise the plain key: listed -> go on; listed with a different key
of its type -> BadHostKeyException (the key changed); unknown -> refused, or remembered when
the node accepts new keys. The files are parsed once and shared by all connections (a
32-node stage would otherwise parse the same file 32 times); an edited file is read again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from octopus.remote.host_certs import (
    CERT_SUFFIX,
    CertificateError,
    certificate_of,
    certificate_problem,
)
from octopus.remote.known_hosts import (
    CERT_AUTHORITY,
    REVOKED,
    SSH_PORT,
    HostEntry,
    entries_for,
    known_line,
    lookup_name,
    parse_known_hosts,
    same_key,
    split_lookup_name,
)
from octopus.remote.known_hosts_files import KnownHostsFiles
from octopus.remote.liveness import ack_now

# path -> ((inode, size, mtime_ns, ctime_ns), its lines, the lines about each name looked up
# so far): a file written anew or replaced since is read again.
_Stamp = tuple[int, int, int, int]
_cache: dict[str, tuple[_Stamp, list[HostEntry], dict[str, list[HostEntry]]]] = {}
_lock = threading.Lock()

KNOWN, NEW, CHANGED, REVOKED_KEY = "known", "new", "changed", "revoked"


@dataclass(frozen=True)
class Verdict:
    """What the known_hosts lines say about one server key, and the line that says it."""

    status: str
    entry: HostEntry | None = None
    note: str = ""
    other_types: bool = False


def judge(
    entries: list[HostEntry], host: str, key: paramiko.PKey, now: float | None = None
) -> Verdict:
    """OpenSSH's decision on `key` from the lines about the host (`entries_for`)."""
    try:
        cert = certificate_of(key)
    except CertificateError as exc:
        cert, note = None, f"its certificate is unreadable ({exc})"
    else:
        note = ""
    for entry in entries:
        if entry.marker != REVOKED:
            continue
        if same_key(entry.key, key) or (cert and same_key(entry.key, cert.signature_key)):
            return Verdict(REVOKED_KEY, entry)
    if cert is not None:
        signers = [
            e for e in entries if e.marker == CERT_AUTHORITY and same_key(e.key, cert.signature_key)
        ]
        if not signers:
            note = "its certificate is signed by no @cert-authority listed for it"
        else:
            problem = certificate_problem(cert, host, now)
            if problem is None:
                return Verdict(KNOWN, signers[0])
            note = f"its certificate {problem}"
    # Like ssh, a certificate that does not vouch for the host leaves its plain key to judge.
    plain = [e for e in entries if not e.marker]
    same_type = [e for e in plain if e.key.get_name() == key.get_name()]
    for entry in same_type:
        if same_key(entry.key, key):
            return Verdict(KNOWN, entry)
    if same_type:
        return Verdict(CHANGED, same_type[0], note)
    if plain and not note:
        note = f"known_hosts lists other key types for it, not {key.get_name()}"
    return Verdict(NEW, None, note, other_types=bool(plain))


class HostKeyError(paramiko.SSHException):
    """The node's host key is unknown (and accepting new keys was not asked for), or revoked."""

    def __init__(
        self,
        hostname: str,
        key: paramiko.PKey,
        known_hosts: KnownHostsFiles,
        detail: str = "is not in known_hosts",
        note: str = "",
    ) -> None:
        self.hostname = hostname
        self.key = key
        self.known_hosts = known_hosts
        self.note = note
        super().__init__(f"host key for {hostname} {detail}" + (f" ({note})" if note else ""))


class HostKeyRevoked(HostKeyError):
    """The server's key, or the CA that signed its certificate, is marked @revoked."""

    def __init__(
        self, hostname: str, key: paramiko.PKey, known_hosts: KnownHostsFiles, where: str
    ) -> None:
        self.where = where
        super().__init__(hostname, key, known_hosts, f"is revoked ({where})")


class HostKeyChanged(paramiko.BadHostKeyException):
    """The host is listed with another key of the same type: `where` is that line."""

    def __init__(
        self, hostname: str, key: paramiko.PKey, expected: paramiko.PKey, where: str, path: str
    ) -> None:
        super().__init__(hostname, key, expected)
        self.where = where
        self.path = path


def entries_about(path: str, lookup: str) -> list[HostEntry]:
    """The file's lines about one host (a name from `lookup_name`), looked for once while the
    file is unchanged (none when it is missing). A connection asks two or three times, and
    a hashed line costs an HMAC at each look: 3 ms a look in 1,000 hashed lines."""
    try:
        stat = os.stat(path)
    except OSError:
        return []
    stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _lock:
        cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        cached = (stamp, parse_known_hosts(text, path), {})
        with _lock:
            _cache[path] = cached
    found = cached[2].get(lookup)
    if found is None:
        found = entries_for(cached[1], lookup)
        with _lock:
            cached[2][lookup] = found
    return list(found)


class OrderedTransport(paramiko.Transport):
    """A Transport that asks first for the host key types known_hosts can vouch for.

    paramiko asks for plain keys before certificates, so a server with a host certificate
    would never show it; like ssh, ask for certificates first when a @cert-authority line
    names the host, and for the key types listed for it before the others. It also
    acknowledges the server's debug messages at once (`_parse_debug`).
    """

    known_types: tuple[str, ...] = ()
    want_certificates = False

    @property
    def preferred_keys(self) -> tuple[str, ...]:
        offered = list(super().preferred_keys)
        first = [k for k in offered if k.endswith(CERT_SUFFIX)] if self.want_certificates else []
        first += [k for k in offered if k in self.known_types and k not in first]
        return tuple(first + [k for k in offered if k not in first])

    def _parse_debug(self, m: paramiko.Message) -> None:
        """A debug message from the server: read it, and acknowledge it at once (see
        liveness.ack_now: otherwise the node's first command waits 40 ms)."""
        super()._parse_debug(m)  # type: ignore[misc]  # (private: not in paramiko's stubs)
        ack_now(self.sock)


def _key_types(entries: list[HostEntry]) -> tuple[str, ...]:
    names = {e.key.get_name() for e in entries if not e.marker}
    if "ssh-rsa" in names:
        names |= {"rsa-sha2-512", "rsa-sha2-256"}
    return tuple(sorted(names))


class CheckKnownHosts(paramiko.MissingHostKeyPolicy):
    """Decides on every server key (the client itself holds no known keys)."""

    def __init__(self, files: KnownHostsFiles, accept_new: bool = False) -> None:
        self.files = files
        self.accept_new = accept_new

    def entries(self, lookup: str) -> list[HostEntry]:
        """Every line about a host, from all files (user files first, as ssh reads them)."""
        return [e for path in self.files.all for e in entries_about(path, lookup)]

    def judge(self, host: str, port: int, key: paramiko.PKey) -> Verdict:
        """The verdict for `host` on `port`. Like ssh, a key unknown as `[host]:port` is
        accepted when the lines for the bare host name list it."""
        verdict = judge(self.entries(lookup_name(host, port)), host, key)
        if verdict.status == NEW and port != SSH_PORT:
            bare = judge(self.entries(lookup_name(host, SSH_PORT)), host, key)
            if bare.status == KNOWN:
                return bare
        return verdict

    def transport_factory(self, host: str, port: int) -> Callable[..., paramiko.Transport]:
        """For `SSHClient.connect(transport_factory=...)`: a Transport ordered for this host."""

        def make(sock: Any, **kwargs: Any) -> paramiko.Transport:
            transport = OrderedTransport(sock, **kwargs)
            entries = self.entries(lookup_name(host, port))
            if port != SSH_PORT:
                entries += self.entries(lookup_name(host, SSH_PORT))
            transport.known_types = _key_types(entries)
            transport.want_certificates = any(e.marker == CERT_AUTHORITY for e in entries)
            return transport

        return make

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        host, port = split_lookup_name(hostname)
        host = host.lower()
        verdict = self.judge(host, port, key)
        if verdict.status == KNOWN:
            return
        if verdict.status == REVOKED_KEY:
            assert verdict.entry is not None
            raise HostKeyRevoked(hostname, key, self.files, verdict.entry.where)
        if verdict.status == CHANGED:
            assert verdict.entry is not None
            entry = verdict.entry
            raise HostKeyChanged(hostname, key, entry.key, entry.where, entry.path)
        target = self.files.append_to
        if not self.accept_new or target is None or verdict.other_types:
            raise HostKeyError(hostname, key, self.files, note=verdict.note)
        remember(target, lookup_name(host, port), key)


def remember(path: str, lookup: str, key: paramiko.PKey) -> None:
    """OpenSSH's accept-new: append one line (parallel connections keep each other's)."""
    target = Path(path)
    with _lock:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(known_line(lookup, key))
