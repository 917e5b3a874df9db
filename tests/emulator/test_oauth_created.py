"""Meetings created through an OAuth app: a seeded 3–10 % share, several hosts, recordings, nothing else moved."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from emulator.clock import Clock
from emulator.enterprise import Enterprise, Instance
from emulator.enterprise.generator import Generator
from emulator.enterprise.ids import KIND_SERIES

NOW = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)


def held(ent: Enterprise) -> list[Instance]:
    return [i for d in ent.covered_days(None, ent.anchor) for i in ent.day(d) if i.held]


@pytest.mark.parametrize(("seed", "scale"), [(7, "demo"), (3, "demo"), (7, "small"), (11, "small")])
def test_share_hosts_and_recordings(seed: int, scale: str) -> None:
    ent = Enterprise(seed, scale, 30, Clock(NOW))  # type: ignore[arg-type]
    meetings = held(ent)
    made = [i for i in meetings if i.oauth_created]
    assert 0.03 <= len(made) / len(meetings) <= 0.10, f"{len(made)} of {len(meetings)}"
    assert len({i.creator for i in made}) >= 5, "OAuth-created meetings should have several hosts"
    recorded = [ent.prepared(i).recording for i in made if i.has_recording]
    assert recorded and any(ent.visible_events(r) for r in recorded if r is not None), "no viewed recording"
    assert not any(i.meeting_type == KIND_SERIES or i.is_pmi or i.audience for i in made)


def test_the_flag_is_seeded() -> None:
    def flagged(seed: int) -> list[tuple[str, str]]:
        return [i.key for i in held(Enterprise(seed, "small", 30, Clock(NOW))) if i.oauth_created]

    assert flagged(7) == flagged(7)
    assert flagged(7) != flagged(8)


def test_the_rest_of_the_enterprise_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other field of every meeting, session and recording is what it would be without the flag."""
    with_flag = Enterprise(7, "small", 30, Clock(NOW))
    # Days are generated on first use, so before the flag is switched off.
    a = [with_flag.prepared(i) for i in held(with_flag)]
    monkeypatch.setattr(Generator, "_mark_oauth_created", lambda *_args: None)
    without = Enterprise(7, "small", 30, Clock(NOW))
    b = [without.prepared(i) for i in held(without)]
    compared = [f.name for f in fields(Instance) if f.name not in ("created_via", "cache", "recording")]
    assert len(a) == len(b) and any(i.oauth_created for i in a) and not any(i.oauth_created for i in b)
    for x, y in zip(a, b, strict=True):
        assert [getattr(x, n) for n in compared] == [getattr(y, n) for n in compared], x.key
        if x.recording is not None and y.recording is not None:
            assert (x.recording.files, x.recording.events) == (y.recording.files, y.recording.events), x.key
        assert (x.recording is None) == (y.recording is None)
    assert [u.userid for u in with_flag.users] == [u.userid for u in without.users]
