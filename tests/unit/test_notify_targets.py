"""Notification targets as YAML, the Python API and --notify give them, and the one-line
summary of an experiment."""

from __future__ import annotations

import pytest

from octopus import Experiment
from octopus.errors import ConfigError
from octopus.notify.targets import (
    CommandTarget,
    EmailTarget,
    WebhookTarget,
    target_of_word,
    targets_of,
)
from octopus.run.events import CommandState, CommandStatus
from octopus.views.summary import duration_text, named


def test_each_kind_of_target_and_its_shorthands() -> None:
    targets = targets_of(
        {
            "email": [
                {"to": ["a@x.org", "b@x.org"], "smtp_host": "smtp.x.org", "smtp_port": 587},
                "c@x.org",
            ],
            "webhook": "https://hooks.example.org/T/1?token=s",
            "command": "notify-send octopus",
        }
    )
    assert list(targets) == [
        EmailTarget(("a@x.org", "b@x.org"), "smtp.x.org", 587),
        EmailTarget(("c@x.org",)),
        WebhookTarget("https://hooks.example.org/T/1?token=s"),
        CommandTarget("notify-send octopus"),
    ]
    assert "token" not in str(WebhookTarget("https://h.org/x?token=s"))
    # --notify words: a mail address goes through the experiment's own SMTP server.
    more = targets.with_words(["me@lab.org", "http://127.0.0.1:8/h", "wall done"])
    assert list(more)[-3:] == [
        EmailTarget(("me@lab.org",), "smtp.x.org", 587),
        WebhookTarget("http://127.0.0.1:8/h"),
        CommandTarget("wall done"),
    ]
    assert target_of_word("me@lab.org") == EmailTarget(("me@lab.org",), "localhost", 25)
    assert not targets_of(None) and not targets_of({})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"emial": "a@x.org"}, "no target 'emial' (did you mean 'email'?)"),
        ({"email": {"to": "not-an-address"}}, "'not-an-address' is not an e-mail address"),
        ({"email": {"smtp_host": "h"}}, "needs `to`"),
        (
            {"email": {"to": "a@x.org", "smtp_prot": 25}},
            "no key 'smtp_prot' (did you mean 'smtp_port'?)",
        ),
        ({"email": {"to": "a@x.org", "smtp_port": 70000}}, "smtp_port"),
        ({"webhook": "hooks.example.org"}, "must be an http(s) URL"),
        ({"command": ""}, "must be a command line"),
        ("https://x.org", "must be a mapping"),
    ],
)
def test_a_wrong_target_is_refused_with_the_fix(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        targets_of(value)
    assert message in str(caught.value) and str(caught.value.key).startswith("notify")


def test_the_python_api_checks_notify_when_the_experiment_is_made() -> None:
    assert Experiment(notify={"webhook": "https://h.org/x"}).notify == {
        "webhook": "https://h.org/x"
    }
    with pytest.raises(ConfigError, match="notify.webhook must be an http"):
        Experiment(notify={"webhook": "ftp://h.org/x"})


def test_durations_and_named_failures_read_at_a_glance() -> None:
    seconds = (0, 12.4, 185, 3600 * 4 + 12 * 60, 86_400 * 2 + 3 * 3600)
    assert [duration_text(s) for s in seconds] == ["0s", "12s", "3m05s", "4h12m", "2d3h"]
    failed = [CommandStatus(i, f"n{i}", 0, "x", CommandState.FAILED, 1) for i in range(7)]
    assert named(failed[:2]) == "n0 #0, n1 #1"
    assert named(failed) == "n0 #0, n1 #1, n2 #2, n3 #3, n4 #4 (+2 more)"
