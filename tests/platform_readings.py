"""The emulator as the platform's API reference describes it, for tests of what each auth mode reaches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from emulator.testing import EmulatorHandle, running_emulator


@contextmanager
def api_reference_emulator(**config: Any) -> Iterator[EmulatorHandle]:
    """An emulator that refuses OAuth on /v1/corp/* with a permission error, as the API reference reads.

    The one place that builds it, so the switch to the emulator's ``platform`` setting is one line.
    """
    with running_emulator(platform="api-reference", **config) as emu:
        yield emu
