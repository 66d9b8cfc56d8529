"""Private keys loaded from their files once a process, as the type each one is.

A stage opens one connection per node, and most nodes share one key file: loading it again
for each of 32 nodes took 0.6 ms apiece on our test machines (paramiko parses an OpenSSH key
twice), all under the GIL that the other nodes' handshakes wait for. A key is kept by its
path, its passphrase, and the identity and times of its file and of its certificate's, so a
key or a certificate renewed meanwhile (a long `inv run` reconnects) is read again.
"""

from __future__ import annotations

import os
import threading
from typing import Any, cast

import paramiko

# A file as it is now: (inode, size, mtime_ns, ctime_ns); None when it is not there.
_Identity = tuple[int, int, int, int] | None
# (path, passphrase) -> (its key file and its certificate as they were, the key loaded then;
# None when it did not load): one entry a key, the latest.
_Files = tuple[_Identity, _Identity]
CERT_SUFFIX = "-cert.pub"  # paramiko's, and OpenSSH's, name of a key's certificate
_loaded: dict[tuple[str, bytes | None], tuple[_Files, paramiko.PKey | None]] = {}
_lock = threading.Lock()


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
    key_file = _identity(key_path)
    if key_file is None:
        return None
    files = (key_file, _identity(key_path + CERT_SUFFIX))
    with _lock:
        kept = _loaded.get((path, secret))
    if kept is not None and kept[0] == files:
        return kept[1]
    try:
        key: paramiko.PKey | None = cast(paramiko.PKey, from_path(path, secret))
    except Exception:  # unreadable, encrypted without its passphrase, of an unknown type
        key = None
    with _lock:
        _loaded[(path, secret)] = (files, key)
    return key


def _identity(path: str) -> _Identity:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


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
