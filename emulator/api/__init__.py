"""The emulator's read endpoints, served from an :class:`~emulator.enterprise.Enterprise`."""

from __future__ import annotations

from starlette.routing import Route

from emulator.api import meetings, records, users
from emulator.enterprise import Enterprise

# Path template -> scope family; the auth middleware maps families to granted scopes.
# Literal paths precede their parameterised siblings because Starlette matches in order.
_TABLE: list[tuple[str, str, str]] = [
    ("/v1/meetings", "meetings", "meetings"),
    ("/v1/meetings/{meeting_id}", "meetings", "meeting_detail"),
    ("/v1/meetings/{meeting_id}/participants", "meetings", "participants"),
    ("/v1/history/meetings/{userid}", "meetings", "history"),
    ("/v1/corp/meetings", "meetings", "corp_meetings"),
    ("/v1/records", "records", "records"),
    ("/v1/corp/records", "records", "corp_records"),
    ("/v1/addresses", "records", "addresses"),
    ("/v1/addresses/{record_file_id}", "records", "address"),
    ("/v1/metrics/records", "records", "metrics"),
    ("/v1/records/events", "records", "events"),
    ("/v1/records/view-details", "records", "view_details"),
    ("/v1/users", "users", "user_by_uuid"),
    ("/v1/users/list", "users", "users_list"),
    ("/v1/users/advance/list", "users", "advance_list"),
    ("/v1/users/info/basic", "users", "basic_info"),
    ("/v1/users/{userid}", "users", "user_detail"),
    ("/v1/corp/users", "users", "corp_users"),
    ("/v1/corp/user-roles", "users", "user_roles"),
]
ROUTE_SCOPES: dict[str, str] = {path: family for path, family, _ in _TABLE}


def build_api_routes(enterprise: Enterprise) -> list[Route]:
    """GET routes for every read endpoint, in match order."""
    handlers = {**meetings.build(enterprise), **records.build(enterprise), **users.build(enterprise)}
    return [Route(path, handlers[name], methods=["GET"], name=name) for path, _, name in _TABLE]


__all__ = ["ROUTE_SCOPES", "build_api_routes"]
