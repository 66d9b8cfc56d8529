"""Where notifications go, as the experiment's `notify:` and the tasks' `--notify` give it.

```
notify:
  email: {to: me@lab.org, smtp_host: smtp.lab.org, smtp_port: 25}   # or just an address
  webhook: https://hooks.slack.com/services/...                     # or a list of URLs
  command: "notify-send octopus"                                    # gets the JSON on stdin
```

`--notify TARGET` takes one target in a word: an http(s) URL is a webhook, an e-mail address
is mail through the experiment's SMTP server (else localhost:25), anything else a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from octopus.errors import ConfigError, did_you_mean
from octopus.limits import check_range

KINDS = ("email", "webhook", "command")
EMAIL_KEYS = ("to", "smtp_host", "smtp_port", "from")
DEFAULT_SMTP = ("localhost", 25)
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class EmailTarget:
    to: tuple[str, ...]
    smtp_host: str = DEFAULT_SMTP[0]
    smtp_port: int = DEFAULT_SMTP[1]
    sender: str = ""  # empty: octopus@<this machine's name>

    def __str__(self) -> str:
        return f"e-mail to {', '.join(self.to)} via {self.smtp_host}:{self.smtp_port}"


@dataclass(frozen=True)
class WebhookTarget:
    url: str

    def __str__(self) -> str:
        return f"webhook {self.url.split('?', 1)[0]}"  # a query may hold a token


@dataclass(frozen=True)
class CommandTarget:
    command: str

    def __str__(self) -> str:
        return f"command `{self.command}`"


Target = EmailTarget | WebhookTarget | CommandTarget


@dataclass(frozen=True)
class Targets:
    """Every target of one experiment (and of the task's --notify)."""

    targets: tuple[Target, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.targets)

    def __iter__(self) -> Any:
        return iter(self.targets)

    def with_words(self, words: list[str]) -> Targets:
        """These plus the --notify words (a mail address goes through the SMTP server the
        experiment's own e-mail target names, if it has one)."""
        smtp = next(
            ((t.smtp_host, t.smtp_port) for t in self.targets if isinstance(t, EmailTarget)),
            DEFAULT_SMTP,
        )
        added = [target_of_word(word, smtp) for word in words]
        return Targets(tuple(dict.fromkeys([*self.targets, *added])))


def target_of_word(word: str, smtp: tuple[str, int] = DEFAULT_SMTP) -> Target:
    """One --notify value: URL, e-mail address or command."""
    text = word.strip()
    if not text:
        raise ConfigError("--notify needs a URL, an e-mail address or a command", key="notify")
    if _URL.fullmatch(text):
        return WebhookTarget(text)
    if _ADDRESS.fullmatch(text):
        return EmailTarget((text,), *smtp)
    return CommandTarget(text)


def targets_of(value: object) -> Targets:
    """The experiment's `notify:` value as targets; ConfigError (key notify) naming what is
    wrong and how to write it."""
    if value is None or value == {}:
        return Targets()
    if not isinstance(value, dict):
        raise ConfigError(
            f"notify must be a mapping of {', '.join(KINDS)}, not {type(value).__name__}",
            key="notify",
        )
    targets: list[Target] = []
    for kind, given in value.items():
        if kind == "email":
            targets += [_email(item) for item in _items(given)]
        elif kind == "webhook":
            targets += [_webhook(item) for item in _items(given)]
        elif kind == "command":
            targets += [_command(item) for item in _items(given)]
        else:
            raise ConfigError(
                f"notify has no target '{kind}'{did_you_mean(kind, KINDS)}; use {', '.join(KINDS)}",
                key="notify",
            )
    return Targets(tuple(targets))


def _items(given: object) -> list[object]:
    return list(given) if isinstance(given, list) else [given]


def _email(given: object) -> EmailTarget:
    if isinstance(given, str):
        given = {"to": given}
    if not isinstance(given, dict):
        raise ConfigError(
            "notify.email must be an address or {to, smtp_host, smtp_port}", key="notify"
        )
    for key in given:
        if key not in EMAIL_KEYS:
            raise ConfigError(
                f"notify.email has no key '{key}'{did_you_mean(key, EMAIL_KEYS)}", key="notify"
            )
    to = [str(a) for a in _items(given.get("to"))] if given.get("to") is not None else []
    bad = [a for a in to if not _ADDRESS.fullmatch(a)]
    if not to or bad:
        problem = f"'{bad[0]}' is not an e-mail address" if bad else "needs `to`"
        raise ConfigError(f"notify.email {problem} (to: me@lab.org)", key="notify")
    host = given.get("smtp_host", DEFAULT_SMTP[0])
    port = given.get("smtp_port", DEFAULT_SMTP[1])
    if not isinstance(host, str) or not host:
        raise ConfigError(f"notify.email smtp_host must be a host name, not {host!r}", key="notify")
    if isinstance(port, bool) or not isinstance(port, int):
        raise ConfigError(f"notify.email smtp_port must be a number, not {port!r}", key="notify")
    check_range(port, 1, 65535, key="notify.email.smtp_port")
    sender = given.get("from", "")
    if not isinstance(sender, str):
        raise ConfigError(f"notify.email from must be an address, not {sender!r}", key="notify")
    return EmailTarget(tuple(to), host, port, sender)


def _webhook(given: object) -> WebhookTarget:
    if not isinstance(given, str) or not _URL.fullmatch(given.strip()):
        raise ConfigError(f"notify.webhook must be an http(s) URL, not {given!r}", key="notify")
    return WebhookTarget(given.strip())


def _command(given: object) -> CommandTarget:
    if not isinstance(given, str) or not given.strip():
        raise ConfigError(f"notify.command must be a command line, not {given!r}", key="notify")
    return CommandTarget(given)
