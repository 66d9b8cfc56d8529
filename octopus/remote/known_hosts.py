"""known_hosts files read as OpenSSH reads them: lines, markers, host patterns, hashed names.

Pure functions over text, so every rule can be tested without a server. A line is
`[@marker] patterns keytype base64 [comment]`; the patterns field is a comma list of names
with `*`/`?` wildcards and `!` negation, `[host]:port` for a port other than 22, or one
hashed name `|1|salt|hmac`. Lines this module cannot use (bad base64, key types paramiko
does not know, unknown markers) are skipped, as OpenSSH skips them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

import paramiko
from paramiko.pkey import UnknownKeyType

SSH_PORT = 22
CERT_AUTHORITY = "cert-authority"
REVOKED = "revoked"
MARKERS = (CERT_AUTHORITY, REVOKED)
HASH_MAGIC = "|1|"


@dataclass(frozen=True)
class HostEntry:
    """One usable known_hosts line: which hosts it names, its key, and where it was read."""

    patterns: str
    key: paramiko.PKey
    path: str
    line: int
    marker: str = ""

    @property
    def where(self) -> str:
        """`file:line`, so a message can point at the line to edit."""
        return f"{self.path}:{self.line}"


def lookup_name(host: str, port: int | None) -> str:
    """The name known_hosts files use for a host: `host` on port 22, `[host]:port` otherwise."""
    host = host.lower()
    if port is None or port == SSH_PORT:
        return host
    return f"[{host}]:{port}"


def split_lookup_name(name: str) -> tuple[str, int]:
    """`[host]:port` -> (host, port); a plain name is on port 22."""
    found = re.fullmatch(r"\[(.+)\]:(\d+)", name)
    if found:
        return found.group(1), int(found.group(2))
    return name, SSH_PORT


def hash_name(name: str, salt: bytes) -> str:
    """The `|1|salt|hmac` form of a name (HMAC-SHA1 keyed with the salt), as ssh-keygen -H."""
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"{HASH_MAGIC}{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


@lru_cache(maxsize=1 << 16)
def _salt_and_hash(field: str) -> tuple[bytes, bytes] | None:
    """A hashed field's salt and hash, decoded once: a name is looked up in every hashed line
    of the files (each has a salt of its own), two or three times a connection, and decoding
    them at each look made a lookup in 1,000 hashed lines take 8 ms."""
    parts = field[len(HASH_MAGIC) :].split("|")
    if len(parts) != 2:
        return None
    try:
        salt, digest = (base64.b64decode(part, validate=True) for part in parts)
    except (binascii.Error, ValueError):
        return None
    # As OpenSSH takes a line: a salt as long as the hash, and both written as base64 writes
    # them (ssh compares the text it makes from the name: another spelling never matches).
    written = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    if len(salt) != hashlib.sha1().digest_size or written != (parts[0], parts[1]):
        return None
    return salt, digest


@lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = ("." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def match_pattern(name: str, pattern: str) -> bool:
    """OpenSSH's match_pattern: `*` any run of characters, `?` one, the rest literal."""
    return _pattern_regex(pattern).fullmatch(name) is not None


def match_host_list(name: str, patterns: str) -> bool:
    """OpenSSH's match_hostname: a comma list matches when a plain pattern matches the name
    and no negated (`!`) pattern does; a negated match wins over every other. Case is
    ignored."""
    name = name.lower()
    matched = False
    for raw in patterns.lower().split(","):
        pattern = raw.strip()
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:]
        if not pattern or not match_pattern(name, pattern):
            continue
        if negated:
            return False
        matched = True
    return matched


def parse_key(key_type: str, data: str) -> paramiko.PKey | None:
    """A public key from its type and base64 text; None when it cannot be used."""
    try:
        blob = base64.b64decode(data, validate=True)
        key = paramiko.PKey.from_type_string(key_type, blob)
    except (binascii.Error, ValueError, paramiko.SSHException, TypeError, IndexError):
        return None
    except UnknownKeyType:
        return None
    if key.public_blob is not None or key.get_name() != _plain_type(key_type):
        return None  # a certificate, or a blob of another type, is no known_hosts key
    return key


def _plain_type(key_type: str) -> str:
    return "ssh-rsa" if key_type.startswith("rsa-sha2-") else key_type


def parse_line(text: str, path: str = "", line: int = 0) -> HostEntry | None:
    """One known_hosts line as a HostEntry; None for comments, blanks and unusable lines."""
    fields = text.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = ""
    if fields[0].startswith("@"):
        marker = fields[0][1:]
        if marker not in MARKERS:
            return None
        fields = fields[1:]
    if len(fields) < 3:
        return None
    key = parse_key(fields[1], fields[2])
    if key is None:
        return None
    return HostEntry(patterns=fields[0], key=key, path=path, line=line, marker=marker)


def parse_known_hosts(text: str, path: str = "") -> list[HostEntry]:
    """Every usable line of a known_hosts file, in file order."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = parse_line(line, path, number)
        if entry is not None:
            entries.append(entry)
    return entries


def entries_for(entries: list[HostEntry], lookup: str) -> list[HostEntry]:
    """The lines about one host (a name from `lookup_name`), markers included. (One loop, the
    hashed lines' test written out in it: a name is looked for in every hashed line, and
    calls for each line were half of the time.)"""
    name = lookup.encode()
    found = []
    for entry in entries:
        patterns = entry.patterns
        if patterns.startswith(HASH_MAGIC):
            parts = _salt_and_hash(patterns)
            if parts is not None and hmac.compare_digest(
                hmac.digest(parts[0], name, "sha1"), parts[1]
            ):
                found.append(entry)
        elif match_host_list(lookup, patterns):
            found.append(entry)
    return found


def same_key(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    """Equal public keys, whatever certificate either carries."""
    return a.get_name() == b.get_name() and a.asbytes() == b.asbytes()


def known_line(lookup: str, key: paramiko.PKey) -> str:
    """The line OpenSSH's accept-new appends for a key (a certificate's plain key)."""
    return f"{lookup} {key.get_name()} {base64.b64encode(key.asbytes()).decode()}\n"
