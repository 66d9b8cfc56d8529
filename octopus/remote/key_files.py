"""Private keys loaded from their files once a process, as the type each one is.

A stage opens one connection per node, and most nodes share one key file: loading it again
for each of 32 nodes took 0.6 ms apiece on our test machines (paramiko parses an OpenSSH key
twice), all under the GIL that the other nodes' handshakes wait for. A key is kept with
what its file and its certificate's held when it was loaded (their digests, read again at
each connection: 20 us), so a key or a certificate renewed meanwhile (a long `inv run`
reconnects) is loaded again. Passphrases are kept only as digests keyed with a secret of the
process's own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from typing import Any, cast

import paramiko

CERT_SUFFIX = "-cert.pub"  # paramiko's, and OpenSSH's, name of a key's certificate
# What a file holds (a digest of it); None when it cannot be read.
_Contents = bytes | None
# What a key file and its certificate held.
_Files = tuple[_Contents, _Contents]
# (path, the passphrase's digest) -> (what the key file and its certificate held, the key
# loaded from them; None when it did not load): one entry a key, the latest.
_loaded: dict[tuple[str, bytes | None], tuple[_Files, paramiko.PKey | None]] = {}
_lock = threading.Lock()
_PROCESS_SECRET = secrets.token_bytes(32)


def private_key(path: str, passphrase: str | bytes | None) -> paramiko.PKey | None:
    """The key in `path` (with its `-cert.pub` certificate, if any), loaded as the type it is;
    None when it cannot be loaded. Given a key file, paramiko tries each key type in turn
    (RSA, ECDSA, then Ed25519) and keeps the exception of each miss; their tracebacks hold the
    whole call stack of the connect in a reference cycle, stage and all, so that what a stage
    made (a first monitor's 320,000 statuses) waited for the cyclic collector (0.4 s) rather
    than being freed when done."""
    from_path = getattr(paramiko.PKey, "from_path", None)  # paramiko 3.2 and later
    if from_path is None:
        return None
    # (as bytes: paramiko hands it to cryptography's loaders, which take no text)
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    # (paramiko takes the key's path or its certificate's, and looks for the other)
    key_path = os.path.expanduser(path.removesuffix(CERT_SUFFIX))
    key_file = _contents(key_path)
    if key_file is None:
        return None
    files = (key_file, _contents(key_path + CERT_SUFFIX))
    entry = (path, None if secret is None else _digest(secret))
    with _lock:
        kept = _loaded.get(entry)
    if kept is not None and kept[0] == files:
        return kept[1]
    try:
        key: paramiko.PKey | None = cast(paramiko.PKey, from_path(path, secret))
    except Exception:  # unreadable, encrypted without its passphrase, of an unknown type
        key = None
    with _lock:
        _loaded[entry] = (files, key)
    return key


def _contents(path: str) -> _Contents:
    try:
        with open(path, "rb") as file:
            return _digest(file.read())
    except OSError:
        return None


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, key=_PROCESS_SECRET, digest_size=32).digest()


def with_first_key(connect_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The connect arguments with the first of the key files they name (ssh_config's
    IdentityFile, Fabric's connect_kwargs) loaded as `pkey`, for the reason `private_key`
    gives; the others stay files, tried after it as before (unless the key's login is only
    partly accepted, as by a server that asks for a second factor: paramiko then goes on to
    the password, not to the other files). The arguments as they were when a `pkey` is set
    already, or when the first file does not load (paramiko then says why). A new dict: the
    one given may be the Invoke config's own."""
    files = connect_kwargs.get("key_filename") or []
    if isinstance(files, str):
        files = [files]
    if "pkey" in connect_kwargs or not files:
        return connect_kwargs
    # The passphrase as paramiko takes it: `passphrase`, else `password`.
    passphrase = connect_kwargs.get("passphrase") or connect_kwargs.get("password")
    key = private_key(os.path.expanduser(files[0]), passphrase)
    if key is None:
        return connect_kwargs
    loaded = {name: value for name, value in connect_kwargs.items() if name != "key_filename"}
    loaded["pkey"] = key
    if files[1:]:
        loaded["key_filename"] = list(files[1:])
    return loaded
