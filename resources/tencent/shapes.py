"""Documented response shapes the client tells apart: the two of `GET /v1/corp/user-roles`, and the user-info object (docs/platform.md, "Shapes and quirks")."""

from __future__ import annotations

from typing import Any, Literal

RolesShape = Literal["role_list", "role_users"]

# A role list, {total_count, ..., user_role_list: [{role_code, role_name, role_desc, role_member_nu}]}:
# attested only by an older Java SDK.
ROLE_LIST: RolesShape = "role_list"
# The users of a role (every role when role_code is omitted), {users, has_remaining, next_pos}:
# the current API reference, 1095/52496.
ROLE_USERS: RolesShape = "role_users"

SHAPE_SOURCES: dict[str, str] = {
    ROLE_LIST: "role list (user_role_list; older Java SDK)",
    ROLE_USERS: "users of roles (users, has_remaining, next_pos; API reference 1095/52496)",
}


def roles_shape(body: Any) -> RolesShape | None:
    """Which documented shape a roles response has; None for anything else (never read as empty)."""
    if not isinstance(body, dict):
        return None
    if "user_role_list" in body:
        return ROLE_LIST
    if "users" in body and ("has_remaining" in body or "next_pos" in body):
        return ROLE_USERS
    return None


def shape_note(shape: str) -> str:
    """The ``sync_log`` label that records which roles shape a run saw."""
    return f"shape of GET /v1/corp/user-roles: {SHAPE_SOURCES.get(shape, shape)}"

# `GET /v1/users/info/basic` answers one object, not a list (Python SDK V1UsersInfoBasicGet200Response):
# the fields the pipeline reads from it. A body with none of them is a shape error.
USER_INFO_FIELDS: tuple[str, ...] = ("username", "status", "enable_ai_account")
