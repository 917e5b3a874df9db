"""Pushed events under a PII policy that hashes and drops: no personal value from an event reaches the
inbox, the lake or the warehouse as it was sent, and hashed names still match the pulled tables' hashes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from assets.webhook_inbox import rebuild_days
from resources.webhooks.inbox import inbox_path
from pipelines.sync import run_sync
from resources.lake import Lake
from resources.webhooks import Inbox
from tests.webhooks.platform import Platform
from tests.webhooks_pipeline.conftest import AES_KEY, DAY, DAY_START, TOKEN, PushedWorld, hours
from tests.webhooks_pipeline.test_pushed_day import _run, _tick

POLICY = "user_name=hash,creator_name=hash,phone=hash,email=drop"
SALT = "a-test-salt-of-thirty-two-chars!"
TZ = "Asia/Shanghai"
# Long enough that a value cannot turn up by chance inside a hash or a compressed page.
MIN_CHARS = 4


def pii_event(operate_ms: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A signed-able join event carrying every kind of personal value an event can hold, and those values."""
    tag = uuid.uuid4().hex[:10]
    values = {"name": f"Zhang Wei {tag}", "creator": f"Li Na {tag}", "email": f"wei.{tag}@example.com",
              "phone": f"0086138{int(tag, 16) % 10**8:08d}", "ip": f"203.0.113.{int(tag[:2], 16) % 250 + 1}"}
    event = {
        "event": "meeting.participant-joined",
        "trace_id": str(uuid.uuid4()),
        "payload": [{
            "operate_time": operate_ms,
            "operator": {"userid": f"u-{tag}", "uuid": f"WM{tag}", "ms_open_id": f"ms{tag}", "instance_id": "0",
                         "user_name": values["name"], "pstn_number": values["phone"], "ip": values["ip"],
                         "email": values["email"]},
            "meeting_info": {"meeting_id": f"9{int(tag, 16) % 10**18}", "meeting_code": "445999969",
                             "sub_meeting_id": "", "subject": "weekly sync",
                             "creator": {"userid": "c1", "user_name": values["creator"], "instance_id": "1"}},
        }],
    }
    return event, values


def pushed_values(world: PushedWorld) -> set[str]:
    """Every name and phone number the emulator pushed for DAY."""
    start = int(DAY_START.timestamp() * 1000)
    found: set[str] = set()
    for event in world.emu.enterprise.webhook_events(start, world.emu.clock.ms()):
        for item in event["payload"]:
            for person in (item["operator"], item["meeting_info"]["creator"]):
                found.update(str(person.get(k) or "") for k in ("user_name", "pstn_number"))
    return {v for v in found if len(v) >= MIN_CHARS}


def post(world: PushedWorld, event: dict[str, Any]) -> None:
    headers, body = Platform(token=TOKEN, aes_key=AES_KEY).post(event)
    response = httpx.post(world.receiver_url, headers=headers, content=body, timeout=30.0)
    assert response.status_code == 200, response.text


def texts_in(data_dir: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every stored byte and every decoded value of the inbox, the lake and the warehouse."""
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes().decode("utf-8", errors="ignore")
    for path in sorted((data_dir / "lake").rglob("*.parquet")):
        yield str(path), json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - names from the catalog
            yield f"warehouse {table}", json.dumps(rows, default=str, ensure_ascii=False)
    with Inbox(inbox_path(data_dir), pii=None) as inbox:
        rows, _ = inbox.read_since(0, limit=1_000_000)
    yield "inbox rows", json.dumps([row.payload_json for row in rows], ensure_ascii=False)


def assert_absent(data_dir: Path, values: set[str]) -> None:
    leaks = [(where, value) for where, text in texts_in(data_dir) for value in values if value in text]
    assert not leaks, leaks[:10]


def test_pushed_personal_values_reach_nothing_unscrubbed(
    pushed_world: PushedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = pushed_world
    # Set before the first event arrives: the receiver's inbox reads the policy at its first append.
    monkeypatch.setenv("TMEET_PII_POLICY", POLICY)
    monkeypatch.setenv("TMEET_PII_SALT", SALT)
    assert world.advance_to(DAY_START + hours(36)) > 0
    event, extra = pii_event(int((DAY_START + hours(10)).timestamp() * 1000))
    post(world, event)
    with Inbox(world.inbox, pii=None) as inbox:
        assert inbox.contains(event["trace_id"])

    with dg.instance_for_test() as instance:
        tick = _tick(world, instance, None)
        assert isinstance(tick, dg.SensorResult) and tick.run_requests
        for request in tick.run_requests:
            _run(instance, request)
        # The pull under the same policy, which also publishes the warehouse from the whole lake.
        assert run_sync(DAY, DAY).success
    with duckdb.connect(str(world.data_dir / "warehouse.duckdb"), read_only=True) as con:
        published = con.execute("SELECT count(*) FROM webhook_events WHERE trace_id = ?", [event["trace_id"]]).fetchone()
    assert published == (1,), "the warehouse does not hold the pushed events; the test would prove nothing"

    lake = Lake.from_data_dir(world.data_dir)
    events = lake.read("webhook_events", start=DAY, end=DAY)
    mine = events[events["trace_id"] == event["trace_id"]]
    assert len(mine) == 1, "the event carrying the personal values did not land; the test would prove nothing"
    policy = lake.pii
    assert policy is not None
    # Hashed as the pulled tables hash, so a pushed name still joins with the same person's pulled rows.
    assert mine["user_name"].iloc[0] == policy.hash_value(extra["name"])
    operator = json.loads(mine["payload_json"].iloc[0])["operator"]
    assert operator["pstn_number"] == policy.hash_value(extra["phone"])
    assert "email" not in operator and "ip" not in operator
    pulled = set(lake.read("participant_sessions", start=DAY, end=DAY)["user_name"].dropna())
    pushed = set(events["user_name"].dropna())
    assert pulled & pushed, "no pushed name hash matches a pulled one"

    values = pushed_values(world) | {v for v in extra.values() if len(v) >= MIN_CHARS}
    assert len(values) > 10
    assert_absent(world.data_dir, values)


def test_events_stored_as_received_are_scrubbed_when_a_policy_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = inbox_path(tmp_path)
    operate_ms = int(datetime(2026, 6, 16, 2, 0, tzinfo=UTC).timestamp() * 1000)
    event, values = pii_event(operate_ms)
    with Inbox(path, pii=None) as inbox:  # stored before the deployment set a policy
        inbox.append(event["trace_id"], event["event"], datetime.now(UTC), json.dumps(event, ensure_ascii=False))
    monkeypatch.setenv("TMEET_PII_POLICY", POLICY)
    monkeypatch.setenv("TMEET_PII_SALT", SALT)
    lake = Lake.from_data_dir(tmp_path)
    rebuild_days(lake, path, [DAY], TZ)
    again = rebuild_days(lake, path, [DAY], TZ)  # a second rebuild must not hash the hashes
    landed = again.events[DAY]
    policy = lake.pii
    assert policy is not None and landed["user_name"].tolist() == [policy.hash_value(values["name"])]
    assert lake.read("webhook_events", start=DAY, end=DAY)["user_name"].tolist() == [policy.hash_value(values["name"])]
    for where, text in texts_in_files(tmp_path):
        for value in values.values():
            assert value not in text, (where, value)


def texts_in_files(data_dir: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes().decode("utf-8", errors="ignore")
    for path in sorted((data_dir / "lake").rglob("*.parquet")):
        yield str(path), json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
