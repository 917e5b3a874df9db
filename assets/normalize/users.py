"""Users, their departments and roles (E15c, E18, E19, E20)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import FREE, REQUIRE, Field, Spec, land, lists_of, objects_of, parse_fields
from assets.normalize.frames import Normalized, apply_map, empty, fill, finish_counted
from assets.normalize.parsers import boolean, integer, text
from assets.normalize.quarantine import Issues, concat_quarantine, quarantine_issues, quarantine_repeats, quarantine_rows
from assets.normalize.records import split_objects
from assets.normalize.times import local_datetime_in

STATUS_LABELS: dict[int, str] = {0: "disabled", 1: "enabled", 2: "inactive"}
# E15 reports status as "1" normal, "3" inactive, "4" disabled; other codes have no users.status equivalent.
_USER_INFO_STATUS: dict[int, int] = {1: 1, 3: 2, 4: 0}


def _main_department(departments: Any) -> tuple[Any, Any]:
    if not isinstance(departments, list):
        return None, None
    for item in departments:
        if isinstance(item, dict) and item.get("is_main") is True:
            return item.get("department_id"), item.get("department_name")
    return None, None


def _user_fields(tz: str) -> tuple[Spec, ...]:
    return (
        Field("userid", text, rule=REQUIRE),
        Field("status", integer),
        Field("enable_ai_account", boolean),
        Field("update_time", local_datetime_in(tz), "updated_at"),
    )


# Judged after `departments`: the main department's id and name (picked out of that list, so passed
# in as derived values) and the profile text.
PROFILE_FIELDS: tuple[Spec, ...] = (
    Field("main department_id", text, "main_department_id"),
    Field("main department_name", text, "main_department_name", rule=FREE),
    *(Field(name, text) for name in ("user_name", "email", "phone", "area", "role_code", "role_name")),
)
DEPARTMENT_FIELDS: tuple[Spec, ...] = (
    Field("department_id", text, rule=REQUIRE),
    Field("is_main", boolean),
    Field("department_name", text),
    Field("department_full_name", text),
)
USER_INFO_FIELDS: tuple[Spec, ...] = (
    Field("username", text, "user_name"),
    Field("status", integer),
    Field("enable_ai_account", boolean),
)
ROLE_FIELDS: tuple[Spec, ...] = (
    Field("role_code", text, rule=REQUIRE),
    # The SDK spells the count `role_member_nu`; the probable intended spelling is read in its absence.
    Field("role_member_nu", integer, "member_count"),
    Field("role_name", text),
    Field("role_desc", text),
)
ROLE_MEMBER_FIELDS: tuple[Spec, ...] = (
    Field("role_code", text, rule=REQUIRE),
    Field("userid", text, rule=REQUIRE),
    Field("role_name", text, rule=FREE),
)


def normalize_corp_users(records: Sequence[Any], tz: str = DEFAULT_TZ) -> tuple[Normalized, Normalized]:
    """`GET /v1/corp/users` users → (users, user_departments)."""
    users, non_objects = split_objects(records)
    issues = Issues(len(users))
    columns = parse_fields(users, _user_fields(tz), issues).columns
    departments = lists_of(users, "departments", issues)
    mains = [_main_department(d) for d in departments]
    derived = {"main department_id": [m[0] for m in mains], "main department_name": [m[1] for m in mains]}
    columns.update(parse_fields(users, PROFILE_FIELDS, issues, derived).columns)
    columns["status_label"] = apply_map(columns["status"], STATUS_LABELS)
    users_result = land("users", users, issues, columns, non_objects=non_objects)

    keep = ~issues.bad
    kept_users = [u for u, k in zip(users, keep, strict=True) if k]
    kept_ids = [u for u, k in zip(columns["userid"].to_pylist(), keep, strict=True) if k]
    return users_result, _departments(kept_users, kept_ids)


def _departments(users: Sequence[Mapping[str, Any]], userids: Sequence[str]) -> Normalized:
    owners: list[str] = []
    items: list[Any] = []
    for user, userid in zip(users, userids, strict=True):
        for item in user.get("departments") or []:
            owners.append(userid)
            items.append(item)
    issues = Issues(len(items))
    objects = objects_of(items, issues, "department is not a JSON object")
    columns = parse_fields(objects, DEPARTMENT_FIELDS, issues).columns
    columns["userid"] = pa.array(owners, type=pa.string())
    frame, repeats = finish_counted("user_departments", columns, ~issues.bad)
    # The whole user is kept as context so a rejected department can be traced to its owner.
    rejected = np.flatnonzero(issues.bad)
    quarantine = quarantine_rows(
        "user_departments",
        [{"userid": owners[i], "department": items[i]} for i in rejected],
        [issues.reason(int(i)) for i in rejected],
    )
    return Normalized(frame, quarantine, repeats)


def normalize_user_info(open_id: str, record: Any) -> Normalized:
    """`GET /v1/users/info/basic` (OAuth self-info) → one users row whose `userid` is the open_id."""
    if not isinstance(record, dict):
        return Normalized(empty("users"), quarantine_rows("users", [record], ["record is not a JSON object"]))
    issues = Issues(1)
    if not isinstance(open_id, str) or open_id == "":
        issues.add(np.ones(1, dtype=bool), "missing open_id")
    columns = parse_fields([record], USER_INFO_FIELDS, issues).columns
    codes = pa.array(list(_USER_INFO_STATUS), type=pa.int64())
    status = pa.array(list(_USER_INFO_STATUS.values()), type=pa.int64()).take(pc.index_in(columns["status"], value_set=codes))
    null_text = fill(None, 1, pa.string())
    columns.update(
        {name: null_text for name in ("email", "phone", "area", "role_code", "role_name",
                                       "main_department_id", "main_department_name")},
        userid=pa.array([open_id if isinstance(open_id, str) else ""], type=pa.string()),
        status=status,
        status_label=apply_map(status, STATUS_LABELS),
        updated_at=fill(None, 1, pa.timestamp("us", tz="UTC")),
    )
    return land("users", [record], issues, columns)


def normalize_roles(records: Sequence[Any]) -> Normalized:
    """`GET /v1/corp/user-roles` role list (`user_role_list[]`) → roles."""
    roles, non_objects = split_objects(records)
    issues = Issues(len(roles))
    counts = {"role_member_nu": [r.get("role_member_nu", r.get("role_member_num")) for r in roles]}
    columns = parse_fields(roles, ROLE_FIELDS, issues, counts).columns
    result = land("roles", roles, issues, columns, non_objects=non_objects)
    return result._replace(quarantine=concat_quarantine(result.quarantine))


def normalize_role_users(records: Sequence[Any]) -> Normalized:
    """`GET /v1/corp/user-roles` users of roles (`users[]`, API reference 1095/52496) → roles.

    This shape lists members, not roles: a role is known through its members, its member count
    is theirs, and it has no description.
    """
    users, non_objects = split_objects(records)
    issues = Issues(len(users))
    columns = parse_fields(users, ROLE_MEMBER_FIELDS, issues).columns
    roles: dict[str, dict[str, Any]] = {}
    members: dict[str, set[str]] = {}
    rows = zip(columns["role_code"].to_pylist(), columns["role_name"].to_pylist(), columns["userid"].to_pylist(), issues.bad)
    for code, name, user, bad in rows:
        if bad:
            continue
        role = roles.setdefault(code, {"role_code": code, "role_name": name, "role_desc": None})
        role["role_name"] = role["role_name"] or name
        members.setdefault(code, set()).add(user)
    derived = [{**role, "role_member_nu": len(members[code])} for code, role in sorted(roles.items())]
    result = normalize_roles(derived)
    rejected = quarantine_issues("roles", users, issues, non_objects=non_objects)
    # Every member record beyond the first of its role folds into that role's row.
    folded = int((~issues.bad).sum()) - len(derived)
    repeats = folded + result.deduplicated + quarantine_repeats(issues, rejected, non_objects)
    return Normalized(result.frame, concat_quarantine(result.quarantine, rejected), repeats)
