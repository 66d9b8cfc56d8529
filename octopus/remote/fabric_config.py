"""Fabric's Config, answering Invoke's questions about its own private names at once.

Each time a nested setting is read or set (`config.connect_kwargs`, `config.run.warn = ...`),
Invoke asks the config whether it has `_root`, `_keypath` or `_modify` (`hasattr`). On the
root config the answer is no, and Invoke builds that no as an AttributeError whose message
lists every setting and every attribute: 58 us a question, 123 us to read one nested setting
(15 us here), about ten questions for every connection a stage makes (measured on our test
machines). The answers are the same; only the message of the no is shorter.
"""

from __future__ import annotations

from typing import Any

from fabric import Config


class FabricConfig(Config):  # type: ignore[misc]  # fabric ships no type hints
    """A Fabric Config (and a Connection's, and its clones'), quick to say it lacks a name."""

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # Invoke's own questions (no setting has such a name)
            try:
                return self._get(key)  # (as Invoke does, should one be set after all)
            except KeyError:
                raise AttributeError(key) from None
        return super().__getattr__(key)
