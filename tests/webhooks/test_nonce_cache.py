from __future__ import annotations

from resources.webhooks.receiver import NonceCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_pair_is_refused_until_it_expires() -> None:
    clock = FakeClock()
    cache = NonceCache(max_entries=10, ttl_s=600, clock=clock)
    assert cache.reserve("1700000000000:42")
    clock.now += 599
    assert not cache.reserve("1700000000000:42")
    clock.now += 2
    assert cache.reserve("1700000000000:42")


def test_expired_entries_are_dropped_and_size_is_bounded() -> None:
    clock = FakeClock()
    cache = NonceCache(max_entries=3, ttl_s=10, clock=clock)
    for n in range(5):
        assert cache.reserve(f"k{n}")
    assert len(cache) == 3
    assert cache.reserve("k0")  # the oldest was evicted to stay within bounds
    clock.now += 11
    assert cache.reserve("fresh") and len(cache) == 1


def test_release_forgets_a_pair() -> None:
    cache = NonceCache(max_entries=10, ttl_s=600, clock=FakeClock())
    assert cache.reserve("k")
    cache.release("k")
    assert cache.reserve("k")
