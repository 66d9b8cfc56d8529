"""OpenSSH host certificates (PROTOCOL.certkeys), checked the way ssh checks them.

paramiko negotiates a certificate host key and proves the server holds its private key, but
it does not look inside the certificate. This module reads the fields and answers the
questions ssh asks before trusting one through a `@cert-authority` line: signed by that CA
with an allowed signature, a host (not user) certificate, inside its validity window, the
host name among its principals (exactly: ssh 9.2 takes no wildcards there; no principals at all
means any host), and no critical options.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import paramiko
from paramiko.message import Message
from paramiko.pkey import UnknownKeyType

CERT_SUFFIX = "-cert-v01@openssh.com"
USER_CERT = 1
HOST_CERT = 2

# ssh's default CASignatureAlgorithms: everything except RSA signatures over SHA-1.
ALLOWED_SIGNATURES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)


class CertificateError(ValueError):
    """The bytes are not a certificate this module can read."""


@dataclass(frozen=True)
class HostCertificate:
    """The fields of one certificate, with the bytes its CA signed."""

    key_type: str
    cert_type: int
    key_id: str
    serial: int
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: bytes
    signature_key: paramiko.PKey
    signed: bytes
    signature: bytes

    @property
    def signature_type(self) -> str:
        return Message(self.signature).get_text()


def parse_certificate(blob: bytes) -> HostCertificate:
    """The certificate in an SSH wire blob (as a server sends it)."""
    try:
        msg = Message(blob)
        key_type = msg.get_text()
        if not key_type.endswith(CERT_SUFFIX):
            raise CertificateError(f"{key_type} is not a certificate type")
        _skip_public_part(msg, key_type)
        serial = msg.get_int64()
        cert_type = msg.get_int()
        key_id = msg.get_text()
        principals = _strings(msg.get_binary())
        valid_after = msg.get_int64()
        valid_before = msg.get_int64()
        critical = msg.get_binary()
        msg.get_binary()  # extensions: they grant user sessions rights, nothing for hosts
        msg.get_binary()  # reserved
        ca_blob = msg.get_binary()
        signed = blob[: msg.packet.tell()]
        signature = msg.get_binary()
        ca_key = paramiko.PKey.from_type_string(Message(ca_blob).get_text(), ca_blob)
    except (paramiko.SSHException, UnknownKeyType, ValueError, TypeError, IndexError) as exc:
        if isinstance(exc, CertificateError):
            raise
        raise CertificateError(f"unreadable certificate: {exc}") from exc
    return HostCertificate(
        key_type=key_type,
        cert_type=cert_type,
        key_id=key_id,
        serial=serial,
        principals=principals,
        valid_after=valid_after,
        valid_before=valid_before,
        critical_options=critical,
        signature_key=ca_key,
        signed=signed,
        signature=signature,
    )


def _skip_public_part(msg: Message, key_type: str) -> None:
    """Move past the nonce and the key's public numbers (the type is read already)."""
    msg.get_binary()  # nonce
    if key_type.startswith("ssh-ed25519"):
        msg.get_binary()
    elif key_type.startswith("ecdsa-sha2-"):
        msg.get_text()
        msg.get_binary()
    elif key_type.startswith("ssh-rsa"):
        msg.get_mpint()
        msg.get_mpint()
    else:
        raise CertificateError(f"certificates of type {key_type} are not supported")


def _strings(packed: bytes) -> tuple[str, ...]:
    inner = Message(packed)
    found = []
    while inner.get_remainder():
        found.append(inner.get_text())
    return tuple(found)


def certificate_of(key: paramiko.PKey) -> HostCertificate | None:
    """The certificate a server presented with its host key, if it presented one."""
    blob = key.public_blob
    if blob is None or not blob.key_type.endswith(CERT_SUFFIX):
        return None
    return parse_certificate(blob.key_blob)


def certificate_problem(cert: HostCertificate, host: str, now: float | None = None) -> str | None:
    """Why this certificate does not vouch for `host` (None when it does).

    The CA's signature is checked here too: the caller has only matched the CA key.
    """
    if cert.signature_type not in ALLOWED_SIGNATURES:
        return f"is signed with {cert.signature_type}, which is not allowed"
    if not cert.signature_key.verify_ssh_sig(cert.signed, Message(cert.signature)):
        return "has a signature that does not verify"
    if cert.cert_type != HOST_CERT:
        return "is not a host certificate"
    moment = int(time.time() if now is None else now)
    if moment < cert.valid_after:
        return "is not valid yet"
    if moment >= cert.valid_before:
        return "has expired"
    if cert.principals and host not in cert.principals:
        return f"does not name {host} among its principals ({', '.join(cert.principals)})"
    if cert.critical_options:
        return "has critical options, which host certificates may not have"
    return None
