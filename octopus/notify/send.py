"""Sending one notice to one target: smtplib for e-mail, an HTTP POST of JSON for a webhook,
the user's program with the JSON on its stdin. Each says in one line why it failed."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import dataclass
from typing import Any

from octopus.notify.targets import CommandTarget, EmailTarget, Target, WebhookTarget

# A notification must never hold up a monitor for long: what does not answer within this
# many seconds failed, and the next monitor tries again.
SEND_TIMEOUT = 20.0
# A command target is the user's own program: it gets longer.
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Notice:
    """One message: its line of text (subject, chat message) and the JSON it comes with."""

    event: str  # "first_failure" or "ended"
    text: str
    details: str  # more lines: the failed commands and where their logs are
    data: dict[str, Any]


class NotSent(Exception):
    """The target did not take the notice; the message says why, in one line."""


def send(target: Target, notice: Notice) -> None:
    """Deliver the notice to the target, or NotSent."""
    # The mail and HTTP modules are imported when a notice goes out, not by every monitor
    # that sends none (cron's every few minutes): they take as long as a look's parse.
    import http.client
    import smtplib

    try:
        if isinstance(target, EmailTarget):
            _email(target, notice)
        elif isinstance(target, WebhookTarget):
            _webhook(target, notice)
        else:
            _command(target, notice)
    except NotSent:
        raise
    except (
        OSError,
        smtplib.SMTPException,
        http.client.HTTPException,
        subprocess.SubprocessError,
        ValueError,
    ) as exc:
        raise NotSent(f"{target}: {exc}") from None


def _email(target: EmailTarget, notice: Notice) -> None:
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    subject = " ".join(notice.text.split())  # a command's newline cannot go in a header
    message["Subject"] = subject if len(subject) <= 200 else subject[:197] + "..."
    message["From"] = target.sender or f"octopus@{socket.gethostname()}"
    message["To"] = ", ".join(target.to)
    message.set_content(f"{notice.text}\n\n{notice.details}".rstrip() + "\n")
    with smtplib.SMTP(target.smtp_host, target.smtp_port, timeout=SEND_TIMEOUT) as smtp:
        smtp.send_message(message)


def _webhook(target: WebhookTarget, notice: Notice) -> None:
    """POST the JSON; Slack and Mattermost show its `text`."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        target.url,
        data=json.dumps(notice.data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as answer:  # noqa: S310
            answer.read()
    except urllib.error.HTTPError as exc:
        raise NotSent(f"{target}: the server answered {exc.code} {exc.reason}") from None


def _command(target: CommandTarget, notice: Notice) -> None:
    done = subprocess.run(
        target.command,
        shell=True,  # the user's own command line, as they wrote it
        input=json.dumps(notice.data),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        raise NotSent(f"{target} exited with {done.returncode}" + (f": {last}" if last else ""))
