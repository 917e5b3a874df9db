"""The bench's own building blocks: dlt's AK/SK auth, the fetch-only replay, the call minimum, the report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from bench.backfill import _pages
from bench.dlt_baseline import AkSkRequestsAuth
from bench.emulator_process import EmulatorProcess
from bench.report import GENERATED_MARK, Figure, write_markdown
from bench.throughput import fetch_only
from emulator.testing import running_emulator

NOW = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def emu():  # type: ignore[no-untyped-def]
    with running_emulator(seed=11, scale="small", days=3, now=NOW, rate_limit="off") as handle:
        yield handle


def _auth(emu) -> AkSkRequestsAuth:  # type: ignore[no-untyped-def]
    app = emu.default_app
    return AkSkRequestsAuth(app_id=str(app.app_id), secret_id=str(app.secret_id), secret_key=str(app.secret_key),
                            sdk_id=app.sdk_id)


def test_dlt_auth_signs_requests_the_emulator_accepts(emu) -> None:  # type: ignore[no-untyped-def]
    operator = emu.enterprise.super_admin
    response = requests.get(f"{emu.base_url}/v1/corp/users", auth=_auth(emu), timeout=10,
                            params={"operator_id": operator, "operator_id_type": 1, "page_size": 5})
    assert response.status_code == 200, response.text
    assert len(response.json()["users"]) == 5


def test_dlt_auth_with_a_wrong_key_is_refused(emu) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(emu)
    auth.secret_key = "not-the-key"
    response = requests.get(f"{emu.base_url}/v1/corp/users", auth=auth, timeout=10,
                            params={"operator_id": emu.enterprise.super_admin, "operator_id_type": 1})
    # The platform's signature failure, with the HTTP status this emulator is configured to answer it with.
    assert response.status_code == emu.config.signature_http_status, response.text
    assert response.json()["error_info"]["error_code"] == 200003, response.text


def test_fetch_only_replays_every_target_once(emu) -> None:  # type: ignore[no-untyped-def]
    app = emu.default_app
    process = EmulatorProcess(base_url=emu.base_url, app_id=str(app.app_id), secret_id=str(app.secret_id),
                              secret_key=str(app.secret_key), sdk_id=app.sdk_id)
    operator = emu.enterprise.super_admin
    targets = [f"GET /v1/corp/users?operator_id={operator}&operator_id_type=1&pos={pos}&page_size=10"
               for pos in range(0, 50, 10)]
    emu.reset_stats()
    fetch_only(process, targets, workers=3)
    assert emu.stats()["calls"] == {"GET /v1/corp/users": len(targets)}


def test_page_minimum_counts_an_empty_query_as_one_call() -> None:
    assert [_pages(0, 100), _pages(1, 100), _pages(100, 100), _pages(101, 100)] == [1, 1, 1, 2]


def test_markdown_keeps_the_preface_and_regenerates_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(f"# Benchmarks\n\nhand-written\n\n{GENERATED_MARK}\nold table\n", encoding="utf-8")
    figures = [Figure("2 quota", "calls per window ÷ allowed", 0.5, "", ">= 0.9", False, note="cause and next step")]
    write_markdown(path, figures, "python -m bench", 60.0)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nhand-written\n\n" + GENERATED_MARK)
    assert "old table" not in text
    assert "| 2 quota" in text and "MISS" in text and "cause and next step" in text
    assert "`python -m bench`" in text


def test_redated_copies_of_a_day_stay_in_their_partition_and_never_join(tmp_path: Path) -> None:
    """The publish bench's year of history: a copy moved N days keeps every row in its new partition."""
    import datetime as dt

    import pyarrow as pa

    from bench.publish import redate

    day = dt.date(2026, 11, 17)
    table = pa.table({
        "meeting_id": pa.array(["m1", None]),
        "userid": pa.array(["u1", "u2"]),
        "start_time": pa.array([datetime(2026, 11, 17, 2, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC")),
        "business_date": pa.array([day, day], pa.date32()),
    })
    moved = redate(table, 40)
    assert moved.schema == table.schema
    assert moved.column("business_date").to_pylist() == [day + dt.timedelta(days=40)] * 2
    assert moved.column("start_time").to_pylist()[0] == datetime(2026, 12, 27, 2, tzinfo=UTC)
    # Instance ids are made distinct per copy; people (userid) stay who they are; nulls stay null.
    assert moved.column("meeting_id").to_pylist() == ["m1~40", None]
    assert moved.column("userid").to_pylist() == ["u1", "u2"]
    assert redate(table, 0) is table


def test_a_slice_that_misses_says_how_busy_the_sync_process_was() -> None:
    from bench.throughput import SLICE_CAUSE, SliceRun, slice_cause

    run = SliceRun(pipeline_s=[40.0, 50.0, 44.0], cpu_s=[30.0, 33.0, 39.6])

    assert slice_cause(run) == f"{SLICE_CAUSE} (busy 75% of its wall time: 33.0 s of CPU in 44.0 s)"
