"""Users, their departments and roles (E15c, E18, E19, E20)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import (
    DEFAULT_TZ,
    Issues,
    Normalized,
    apply_map,
    boolean,
    concat_quarantine,
    empty,
    field,
    fill,
    finish_counted,
    integer,
    local_datetime,
    quarantine_issues,
    quarantine_repeats,
    quarantine_rows,
    split_objects,
    text,
)

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


def normalize_corp_users(records: Sequence[Any], tz: str = DEFAULT_TZ) -> tuple[Normalized, Normalized]:
    """`GET /v1/corp/users` users → (users, user_departments)."""
    users, non_objects = split_objects(records)
    n = len(users)
    issues = Issues(n)
    userid = text(field(users, "userid"))
    issues.require(userid, "userid")
    status = integer(field(users, "status"))
    issues.check(status, "status")
    enable_ai = boolean(field(users, "enable_ai_account"))
    issues.check(enable_ai, "enable_ai_account")
    updated_at = local_datetime(field(users, "update_time"), tz)
    issues.check(updated_at, "update_time")
    departments = field(users, "departments")
    issues.add(np.array([d is not None and not isinstance(d, list) for d in departments], dtype=bool), "malformed departments")
    mains = [_main_department(d) for d in departments]
    main_id = text([m[0] for m in mains])
    main_name = text([m[1] for m in mains])
    issues.check(main_id, "main department_id")
    plain = {name: text(field(users, name)) for name in ("user_name", "email", "phone", "area", "role_code", "role_name")}
    for name, parsed in plain.items():
        issues.check(parsed, name)

    columns = {
        "userid": userid.values,
        **{name: parsed.values for name, parsed in plain.items()},
        "status": status.values,
        "status_label": apply_map(status.values, STATUS_LABELS),
        "main_department_id": main_id.values,
        "main_department_name": main_name.values,
        "enable_ai_account": enable_ai.values,
        "updated_at": updated_at.values,
    }
    keep = ~issues.bad
    users_frame, user_repeats = finish_counted("users", columns, keep)
    users_quarantine = quarantine_issues("users", users, issues, non_objects=non_objects)

    kept_users = [u for u, k in zip(users, keep, strict=True) if k]
    kept_ids = [u for u, k in zip(userid.values.to_pylist(), keep, strict=True) if k]
    departments_result = _departments(kept_users, kept_ids)
    repeats = user_repeats + quarantine_repeats(issues, users_quarantine, non_objects)
    return Normalized(users_frame, users_quarantine, repeats), departments_result


def _departments(users: Sequence[Mapping[str, Any]], userids: Sequence[str]) -> Normalized:
    owners: list[str] = []
    items: list[Any] = []
    for user, userid in zip(users, userids, strict=True):
        for item in user.get("departments") or []:
            owners.append(userid)
            items.append(item)
    objects = [item if isinstance(item, dict) else {} for item in items]
    issues = Issues(len(items))
    issues.add(np.array([not isinstance(item, dict) for item in items], dtype=bool), "department is not a JSON object")
    department_id = text(field(objects, "department_id"))
    issues.require(department_id, "department_id")
    is_main = boolean(field(objects, "is_main"))
    issues.check(is_main, "is_main")
    names = {name: text(field(objects, name)) for name in ("department_name", "department_full_name")}
    for name, parsed in names.items():
        issues.check(parsed, name)
    columns = {
        "userid": pa.array(owners, type=pa.string()),
        "department_id": department_id.values,
        **{name: parsed.values for name, parsed in names.items()},
        "is_main": is_main.values,
    }
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
    columns = _user_info_columns(open_id if isinstance(open_id, str) and open_id else "", record, issues)
    frame, repeats = finish_counted("users", columns, ~issues.bad)
    quarantine = quarantine_issues("users", [record], issues)
    return Normalized(frame, quarantine, repeats)


def _user_info_columns(open_id: str, record: Mapping[str, Any], issues: Issues | None = None) -> dict[str, pa.Array]:
    records = [record]
    user_name = text(field(records, "username"))
    raw_status = integer(field(records, "status"))
    enable_ai = boolean(field(records, "enable_ai_account"))
    if issues is not None:
        issues.check(user_name, "username")
        issues.check(raw_status, "status")
        issues.check(enable_ai, "enable_ai_account")
    codes = pa.array(list(_USER_INFO_STATUS), type=pa.int64())
    mapped = pa.array(list(_USER_INFO_STATUS.values()), type=pa.int64()).take(pc.index_in(raw_status.values, value_set=codes))
    null_text = fill(None, 1, pa.string())
    return {
        "userid": pa.array([open_id], type=pa.string()),
        "user_name": user_name.values,
        "email": null_text,
        "phone": null_text,
        "area": null_text,
        "status": mapped,
        "status_label": apply_map(mapped, STATUS_LABELS),
        "role_code": null_text,
        "role_name": null_text,
        "main_department_id": null_text,
        "main_department_name": null_text,
        "enable_ai_account": enable_ai.values,
        "updated_at": fill(None, 1, pa.timestamp("us", tz="UTC")),
    }


def normalize_roles(records: Sequence[Any]) -> Normalized:
    """`GET /v1/corp/user-roles` role list (`user_role_list[]`) → roles."""
    roles, non_objects = split_objects(records)
    issues = Issues(len(roles))
    role_code = text(field(roles, "role_code"))
    issues.require(role_code, "role_code")
    # The SDK spells the count `role_member_nu`; accept the probable intended spelling too.
    member_count = integer([r.get("role_member_nu", r.get("role_member_num")) for r in roles])
    issues.check(member_count, "role_member_nu")
    names = {name: text(field(roles, name)) for name in ("role_name", "role_desc")}
    for name, parsed in names.items():
        issues.check(parsed, name)
    columns = {
        "role_code": role_code.values,
        **{name: parsed.values for name, parsed in names.items()},
        "member_count": member_count.values,
    }
    frame, repeats = finish_counted("roles", columns, ~issues.bad)
    quarantine = concat_quarantine(quarantine_issues("roles", roles, issues, non_objects=non_objects))
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, non_objects))


def normalize_role_users(records: Sequence[Any]) -> Normalized:
    """`GET /v1/corp/user-roles` users of roles (`users[]`, API reference 1095/52496) → roles.

    This shape lists members, not roles: a role is known through its members, its member count
    is theirs, and it has no description.
    """
    users, non_objects = split_objects(records)
    issues = Issues(len(users))
    role_code = text(field(users, "role_code"))
    issues.require(role_code, "role_code")
    userid = text(field(users, "userid"))
    issues.require(userid, "userid")
    names = text(field(users, "role_name"))
    roles: dict[str, dict[str, Any]] = {}
    members: dict[str, set[str]] = {}
    rows = zip(role_code.values.to_pylist(), names.values.to_pylist(), userid.values.to_pylist(), issues.bad)
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
