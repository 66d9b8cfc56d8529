"""The one error the test harness raises."""

from __future__ import annotations


class HarnessError(RuntimeError):
    """The test hosts could not be set up on this machine."""
