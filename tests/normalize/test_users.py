"""users, user_departments and roles from E18, E15c and E19 shapes."""

from __future__ import annotations

import copy
import datetime as dt

from assets.normalize import normalize_corp_users, normalize_roles, normalize_user_info
from tests.normalize.fixtures import CORP_USER, ROLE
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row, rows


def _users() -> list[dict]:
    bob = copy.deepcopy(CORP_USER)
    bob.update(
        userid="bob", user_name="鲍勃 🚀", status=2, role_code="", email="", update_time="2023-11-15 00:30:00",
        enable_ai_account=True,
        departments=[
            {"department_id": "1", "department_name": "R&D", "department_full_name": "R&D/Platform", "is_main": False},
            {"department_id": "2", "department_name": "Sales", "department_full_name": "Sales", "is_main": True},
        ],
    )
    carol = copy.deepcopy(CORP_USER)
    carol.update(userid="carol", status=0, departments=[])
    return [CORP_USER, bob, carol]


def test_corp_users_and_departments():
    users, departments = normalize_corp_users(_users())
    assert_well_formed("users", users.frame)
    assert_well_formed("user_departments", departments.frame)
    assert users.quarantine.empty and departments.quarantine.empty
    alice = row(users.frame, userid="alice")
    assert alice == {
        "userid": "alice", "user_name": "Alice", "email": "alice@example.com", "phone": "138****0000", "area": "86",
        "status": 1, "status_label": "enabled", "role_code": "<opaque>", "role_name": "超级管理员",
        "main_department_id": "1", "main_department_name": "R&D", "enable_ai_account": False,
        "updated_at": dt.datetime(2023, 11, 1, 2, 0, tzinfo=dt.timezone.utc),
    }
    bob = row(users.frame, userid="bob")
    assert (bob["status_label"], bob["role_code"], bob["email"]) == ("inactive", None, None)
    assert (bob["main_department_id"], bob["main_department_name"]) == ("2", "Sales")
    assert bob["updated_at"] == dt.datetime(2023, 11, 14, 16, 30, tzinfo=dt.timezone.utc)
    carol = row(users.frame, userid="carol")
    assert (carol["status_label"], carol["main_department_id"]) == ("disabled", None)
    assert departments.frame[["userid", "department_id", "is_main"]].values.tolist() == [
        ["alice", "1", True], ["bob", "1", False], ["bob", "2", True],
    ]


def test_corp_users_quarantine_keeps_good_rows():
    bad_time = dict(CORP_USER, userid="dave", update_time="yesterday")
    no_id = dict(CORP_USER, userid="")
    numeric_id = dict(CORP_USER, userid=12345678901234567890)
    bad_department = dict(CORP_USER, userid="erin", departments=[{"department_name": "no id"}, "junk"])
    users, departments = normalize_corp_users([CORP_USER, bad_time, no_id, numeric_id, bad_department, "junk"])
    assert sorted(users.frame["userid"]) == ["12345678901234567890", "alice", "erin"]
    reasons = sorted(users.quarantine["reason"])
    assert reasons == ["malformed update_time", "missing userid", "record is not a JSON object"]
    assert set(users.quarantine["table_name"]) == {"users"}
    assert sorted(departments.quarantine["reason"]) == ["department is not a JSON object; missing department_id", "missing department_id"]
    assert_well_formed("quarantine", users.quarantine)


def test_corp_users_order_independent():
    assert_order_independent(lambda r: normalize_corp_users(r)[0].frame, _users())
    assert_order_independent(lambda r: normalize_corp_users(r)[1].frame, _users())


def test_user_info_uses_open_id_as_userid():
    info = {"username": "我自己", "avatar_url": "https://...", "status": 1, "enable_ai_account": True,
            "open_corp_id": "c", "open_corp_name": "Corp"}
    result = normalize_user_info("open-123", info)
    assert_well_formed("users", result.frame)
    got = row(result.frame, userid="open-123")
    assert (got["user_name"], got["status"], got["status_label"], got["enable_ai_account"]) == ("我自己", 1, "enabled", True)
    assert got["email"] is None and got["updated_at"] is None
    assert normalize_user_info("open-123", "junk").quarantine["reason"].tolist() == ["record is not a JSON object"]
    assert normalize_user_info("", info).quarantine["reason"].tolist() == ["missing open_id"]


def test_roles():
    other = {"role_code": "r-member", "role_name": "普通成员", "role_desc": "", "role_member_nu": "42"}
    result = normalize_roles([ROLE, other, {"role_name": "no code"}])
    assert_well_formed("roles", result.frame)
    assert rows(result.frame) == [["r-admin", "管理员", "Admins", 3], ["r-member", "普通成员", None, 42]]
    assert result.quarantine["reason"].tolist() == ["missing role_code"]
