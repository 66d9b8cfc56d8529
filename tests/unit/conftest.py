"""Unit tests compare command lines and names with recorded text: they see remote names
without a checkout id (the form older deliveries have), except where a test gives one."""

from __future__ import annotations

import pytest

from octopus.run import layout


@pytest.fixture(autouse=True)
def _names_without_checkout_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "project_scope", lambda root: "")
