"""The emulator bench runs end to end and reports full 100-row pages (figures are printed, not asserted)."""

from __future__ import annotations

from bench.emulator_bench import PAGE_SIZE, full_page_targets, run


def test_full_page_targets_are_all_full_pages_of_big_meetings() -> None:
    targets, meetings = full_page_targets("small", 6)
    assert meetings >= 2 and len(targets) >= meetings
    assert all(f"size={PAGE_SIZE}&pos=" in t for t in targets)


def test_bench_returns_its_figures() -> None:
    figures = run(seconds=0.3, threads=2, scale="small", days=6)
    assert figures["page_rows"] == PAGE_SIZE and figures["pages"] > 0
    assert figures["reference_pages_per_s"] > 0 and figures["ratio_to_reference"] is not None
    assert figures["startup_s"] > 0 and figures["rss_start_mb"] > 0
    assert figures["page_bytes"] > PAGE_SIZE * 100
