"""The corrupt profile: seeded, repeatable mutations of records, a ledger of each, planned mutations."""

from __future__ import annotations

import json

import pytest

from emulator.corruption import MUTATIONS, RecordCorrupter, canonical
from emulator.faults import FaultInjector

USERS = "/v1/corp/users"
PARTICIPANTS = "/v1/meetings/{meeting_id}/participants"


def _users_body(n: int = 400) -> bytes:
    users = [{"userid": f"u{i}", "user_name": f"User {i}", "status": 1, "update_time": "2026-01-02 03:04:05",
              "enable_ai_account": False} for i in range(n)]
    return json.dumps({"users": users, "total_count": n}).encode()


def test_the_same_record_is_corrupted_the_same_way_every_time() -> None:
    first, again = RecordCorrupter(11, 0.3), RecordCorrupter(11, 0.3)
    body = _users_body()
    assert first.corrupt(USERS, "/v1/corp/users?pos=0", body) == first.corrupt(USERS, "/v1/corp/users?pos=0", body)
    assert first.corrupt(USERS, "/v1/corp/users?pos=0", body) == again.corrupt(USERS, "/x", body)
    assert RecordCorrupter(12, 0.3).corrupt(USERS, "/x", body) != first.corrupt(USERS, "/x", body)
    ledger = first.mutations()
    assert 0.2 < len(ledger) / 400 < 0.4
    # Four bodies were served by ``first``: each corrupted record is in the ledger once, served four times.
    assert all(entry["served"] == 4 for entry in ledger)


def test_the_ledger_says_what_changed_and_what_a_reader_must_do() -> None:
    corrupter = RecordCorrupter(11, 1.0)
    served = json.loads(corrupter.corrupt(USERS, "/x", _users_body()))["users"]
    ledger = {canonical(entry["mutated"]): entry for entry in corrupter.mutations()}
    assert len(ledger) == len(served) == 400
    for record in served:
        entry = ledger[canonical(record)]
        assert entry["expect"] in ("quarantine", "land") and entry["original"] != entry["mutated"]
    kinds = {entry["mutation"] for entry in ledger.values()}
    assert kinds == {m.name for m in MUTATIONS[USERS][1]}


def test_lone_surrogates_travel_as_json_escapes() -> None:
    corrupter = RecordCorrupter(11, 0.0)
    corrupter.plan(USERS, {"userid": "u1"}, "lone_surrogate")
    raw = corrupter.corrupt(USERS, "/x", _users_body(3))
    assert b"\\ud800" in raw
    assert json.loads(raw)["users"][1]["user_name"].endswith("\ud800")


def test_planned_mutations_and_a_vanishing_record() -> None:
    corrupter = RecordCorrupter(11, 0.0)
    corrupter.plan(USERS, {"userid": "u2"}, "vanish")
    served = json.loads(corrupter.corrupt(USERS, "/x", _users_body(5)))
    assert [u["userid"] for u in served["users"]] == ["u0", "u1", "u3", "u4"]
    assert served["total_count"] == 5
    assert [(e["mutation"], e["expect"]) for e in corrupter.mutations()] == [("vanish", "missing")]
    with pytest.raises(ValueError, match="no mutation"):
        corrupter.plan(PARTICIPANTS, {"userid": "u1"}, "no_such_thing")


def test_only_the_corrupt_profile_corrupts() -> None:
    assert FaultInjector("corrupt", 11).corrupter is not None
    for profile in ("none", "flaky", "hostile"):
        assert FaultInjector(profile, 11).corrupter is None
    # No transport faults in the corrupt profile: every call answers.
    injector = FaultInjector("corrupt", 11)
    assert all(injector.decide(f"/v1/corp/users?pos={i}") is None for i in range(500))


def test_identical_access_records_of_two_recordings_are_two_ledger_entries() -> None:
    corrupter = RecordCorrupter(11, 1.0)
    route = "/v1/metrics/records"
    body = json.dumps({"summaries": [{"date": "2026-06-10", "view_counts": 1, "download_counts": 0}]}).encode()
    corrupter.corrupt(route, f"{route}?meeting_record_id=r1&start_time=1", body)
    corrupter.corrupt(route, f"{route}?meeting_record_id=r2&start_time=1", body)
    ledger = corrupter.mutations()
    assert sorted(entry["owner"] for entry in ledger) == ["r1", "r2"]
    assert all(entry["served"] == 1 for entry in ledger)
