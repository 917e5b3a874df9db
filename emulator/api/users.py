"""User endpoints: detail (E15/E15b/E15c), lists (E16/E17), corp users (E18) and roles (E19/E20)."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.api.common import need_int, page_params, page_slice, pos_param, principal, q_str, respond
from emulator.api.meetings import Handler, resolve_userid
from emulator.enterprise import Enterprise, User

USERS_LIST_PAGE_SIZE_MAX = 20
ADVANCE_LIST_SIZE_MAX = 100
CORP_USERS_PAGE_SIZE_MAX = 100
ROLES_PAGE_SIZE_MAX = 20
# E15 reports status with its own codes: "1" normal, "3" inactive, "4" disabled.
DETAIL_STATUS = {1: "1", 2: "3", 0: "4"}
# Each user endpoint has its own field set in the official SDK's models (wemeet-openapi-sdk-python
# 1.0.10); the full detail (E15, V1UsersUseridGet200Response) is projected onto it.
BY_UUID_FIELDS = (  # V1UsersGet200Response
    "userid", "uuid", "username", "area", "phone", "email", "status", "staff_id", "job_title", "entry_time",
    "update_time", "role_name", "role_code", "department_list", "ai_account_type", "enable_ai_account",
    "phone_status",
)
USERS_LIST_FIELDS = (  # V1UsersListGet200ResponseUsersInner
    *BY_UUID_FIELDS, "avatar_url", "account_version", "user_account_type",
)
# V1UsersAdvanceListGet200ResponseUsersInner has no account_type. It has no uuid either, but the Go
# SDK's model of the same list (wemeet-openapi-sdk-go 1.0.8) does, so the id is kept.
ADVANCE_LIST_FIELDS = (
    "userid", "uuid", "username", "area", "phone", "email", "avatar_url", "status", "staff_id", "job_title",
    "entry_time", "update_time", "role_name", "role_code", "department_list", "account_version",
    "user_account_type", "ai_account_type", "enable_ai_account", "add_on_largemeeting", "add_on_webinar",
    "phone_status", "email_status", "is_voov",
)
BASIC_INFO_FIELDS = (  # V1UsersInfoBasicGet200Response, besides open_corp_id/open_corp_name
    "username", "avatar_url", "status", "account_type", "account_version", "user_account_type", "ai_account_type",
    "enable_ai_account", "phone_status", "email_status", "is_voov", "add_on_largemeeting", "add_on_webinar",
)
# The by-uuid and users/list models give departments only an id and a name.
SHORT_DEPARTMENT_FIELDS = ("department_id", "department_name")


def _avatar(u: User) -> str:
    return f"https://avatar.meeting.example.com/{u.uuid}.png"


def _departments(ent: Enterprise, u: User) -> list[dict[str, object]]:
    out = []
    for dept_id, is_main in u.departments:
        d = ent.department_by_id[dept_id]
        out.append({"department_id": d.department_id, "department_name": d.name,
                    "department_full_name": d.full_name, "is_main": is_main})
    return out


def detail_user(ent: Enterprise, u: User) -> dict[str, object]:
    role = ent.role_by_code[u.role_code]
    return {
        "userid": u.userid, "uuid": u.uuid, "username": u.user_name, "area": u.area, "phone": u.phone,
        "email": u.email, "avatar_url": _avatar(u), "status": DETAIL_STATUS[u.status], "staff_id": u.userid,
        "job_title": "", "entry_time": "", "update_time": u.update_time, "role_name": role.role_name,
        "role_code": role.role_code, "department_list": _departments(ent, u), "account_version": 1,
        "account_type": 2, "user_account_type": 1, "ai_account_type": 0, "enable_ai_account": u.enable_ai_account,
        "add_on_largemeeting": 0, "add_on_webinar": 0, "phone_status": 1, "email_status": 1,
        # An integer flag (0 no, 1 VooV Meeting account) in every SDK model that has it.
        "is_voov": 0,
    }


def project_user(full: dict[str, object], fields: tuple[str, ...], *, short_departments: bool = False) -> dict[str, object]:
    """The fields of one endpoint's user model, in that order, taken from the full E15 detail."""
    out = {name: full[name] for name in fields}
    if short_departments and "department_list" in out:
        departments = full["department_list"]
        assert isinstance(departments, list)
        out["department_list"] = [{k: d[k] for k in SHORT_DEPARTMENT_FIELDS} for d in departments]
    return out


def corp_user(ent: Enterprise, u: User) -> dict[str, object]:
    role = ent.role_by_code[u.role_code]
    return {
        "userid": u.userid, "user_name": u.user_name, "area": u.area, "phone": u.phone, "email": u.email,
        "avatar_url": _avatar(u), "update_time": u.update_time, "role_name": role.role_name,
        "role_code": role.role_code, "status": u.status, "departments": _departments(ent, u),
        "enable_ai_account": u.enable_ai_account,
    }


def _pos_page(items: list[User], pos: int, size: int) -> tuple[list[User], bool, str]:
    chunk = items[pos : pos + size]
    end = pos + len(chunk)
    more = end < len(items)
    return chunk, more, str(end) if more else ""


def build(ent: Enterprise) -> dict[str, Handler]:
    async def user_detail(request: Request) -> Response:
        who = principal(request)
        userid = resolve_userid(who, request.path_params["userid"])
        if not who.account_level and userid != who.userid:
            raise errors.no_permission("A user-level app can only read the authorizing user")
        user = ent.user_by_id.get(userid)
        if user is None:
            raise errors.user_not_exist()
        return respond(detail_user(ent, user))

    async def user_by_uuid(request: Request) -> Response:
        user = ent.user_by_uuid.get(q_str(request, "uuid", required=True) or "")
        if user is None:
            raise errors.user_not_exist()
        who = principal(request)
        if not who.account_level and user.userid != who.userid:
            raise errors.no_permission("A user-level app can only read the authorizing user")
        return respond(project_user(detail_user(ent, user), BY_UUID_FIELDS, short_departments=True))

    async def basic_info(request: Request) -> Response:
        user = ent.user_by_id.get(principal(request).userid)
        if user is None:
            raise errors.user_not_exist()
        basic = project_user(detail_user(ent, user), BASIC_INFO_FIELDS)
        return respond({**basic, "open_corp_id": f"corp{ent.seed}", "open_corp_name": "星河科技"})

    async def users_list(request: Request) -> Response:
        page, size = page_params(request, default_size=USERS_LIST_PAGE_SIZE_MAX, cap=USERS_LIST_PAGE_SIZE_MAX,
                                 required=True)
        chunk, totals = page_slice(ent.users, page, size)
        return respond({"total_count": totals["total_count"], "current_size": totals["current_size"],
                        "current_page": page, "page_size": size,
                        "users": [project_user(detail_user(ent, u), USERS_LIST_FIELDS, short_departments=True)
                                  for u in chunk]})

    async def advance_list(request: Request) -> Response:
        pos = pos_param(request)
        size = need_int(request, "size", default=20, lo=1, hi=ADVANCE_LIST_SIZE_MAX)
        status = q_str(request, "status")
        dept = q_str(request, "department_id")
        users = [u for u in ent.users if (status is None or DETAIL_STATUS[u.status] == status)
                 and (dept is None or any(d == dept for d, _ in u.departments))]
        chunk, more, next_pos = _pos_page(users, pos, size)
        return respond({"has_remaining": more, "next_pos": next_pos,
                        "users": [project_user(detail_user(ent, u), ADVANCE_LIST_FIELDS) for u in chunk]})

    def filtered(request: Request, role_code: str | None) -> list[User]:
        name = q_str(request, "user_name")
        userid = q_str(request, "userid")
        status = request.query_params.get("status")
        if status not in (None, "", "0", "1", "2"):
            raise errors.invalid_param("status must be 0 (disabled), 1 (enabled) or 2 (inactive)")
        return [
            u for u in ent.users
            if (role_code is None or u.role_code == role_code) and (name is None or name in u.user_name)
            and (userid is None or u.userid == userid) and (not status or u.status == int(status))
        ]

    def corp_page(request: Request, users: list[User]) -> dict[str, object]:
        size = need_int(request, "page_size", required=True, lo=1, hi=CORP_USERS_PAGE_SIZE_MAX)
        pos = pos_param(request)
        chunk, more, next_pos = _pos_page(users, pos, size)
        return {
            "current_page": pos // size + 1, "current_size": len(chunk), "total_count": len(users),
            "total_page": math.ceil(len(users) / size), "has_remaining": more, "next_pos": next_pos,
            "users": [corp_user(ent, u) for u in chunk],
        }

    async def corp_users(request: Request) -> Response:
        role_code = q_str(request, "role_code")
        if role_code is not None and role_code not in ent.role_by_code:
            raise errors.invalid_param(f"unknown role_code {role_code!r}")
        return respond(corp_page(request, filtered(request, role_code)))

    async def user_roles(request: Request) -> Response:
        role_code = q_str(request, "role_code")
        if role_code is not None and role_code not in ent.role_by_code:
            raise errors.invalid_param(f"unknown role_code {role_code!r}")
        if role_code is not None or _roles_shape(request) == "reference":
            body = corp_page(request, filtered(request, role_code))
            return respond({k: body[k] for k in ("users", "has_remaining", "next_pos")})
        page, size = page_params(request, default_size=ROLES_PAGE_SIZE_MAX, cap=ROLES_PAGE_SIZE_MAX)
        counts = {r.role_code: 0 for r in ent.roles}
        for u in ent.users:
            counts[u.role_code] += 1
        chunk, totals = page_slice(ent.roles, page, size)
        return respond({**totals, "user_role_list": [
            {"role_code": r.role_code, "role_name": r.role_name, "role_desc": r.role_desc,
             "role_member_nu": counts[r.role_code]} for r in chunk
        ]})

    return {
        "user_detail": user_detail, "user_by_uuid": user_by_uuid, "basic_info": basic_info,
        "users_list": users_list, "advance_list": advance_list, "corp_users": corp_users,
        "user_roles": user_roles,
    }


def _roles_shape(request: Request) -> str:
    emulator = getattr(request.app.state, "emulator", None)
    return str(getattr(getattr(emulator, "config", None), "roles_shape", "role-list"))
