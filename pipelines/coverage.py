"""`tmeet-etl doctor`'s coverage plan: one cheap call per endpoint family, then what will run and why not.

The platform's two readings disagree on what OAuth reaches (docs/platform.md, "Auth rules per
endpoint"), so the plan asks the platform itself: each family is probed once with a page size of
1, through the usual quota limiter, and a refusal is explained the way a run would explain it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assets import registry
from resources.tencent import auth_modes
from resources.tencent import scopes as sc
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import AuthModeUnsupported, PermissionDenied, TencentError

Row = tuple[str, bool, str]
PROBE_WINDOW_SECONDS = 86_400
ENDED_PROBE_SECONDS = 31 * 86_400

FAMILY_NAMES: dict[str, str] = {
    sc.E_CORP_MEETINGS: "corp meetings",
    sc.E_CORP_RECORDS: "corp records",
    sc.E_CORP_USERS: "corp users",
    sc.E_CORP_ROLES: "user roles",
    sc.E_USER_MEETINGS: "user meetings",
    sc.E_USER_ENDED: "user meeting history",
    sc.E_PARTICIPANTS: "participants",
    sc.E_RECORDS: "records",
    sc.E_USER_INFO: "users/info/basic",
}

# The endpoint families each table's run calls, per caller, are declared on its asset
# (`assets.tags.endpoint_metadata`); an account-level OAuth app refused the account-wide lists reads
# as its admin (assets/_reach.py): its own record, ended meetings, upcoming and live meetings and
# recordings, named by its open_id.

OAUTH_VISIBILITY = (
    "OAuth sees only meetings and recordings created through OAuth apps on today's platform "
    "(API reference 1095/42701, 1095/42421); for account-wide data, " + auth_modes.AKSK_FIX
)


@dataclass(frozen=True)
class Probe:
    endpoint: str
    ok: bool
    why: str = ""  # for a refusal: the reason and the fix
    found_meeting: str = ""
    userid: str = ""
    note: str = ""  # for an answer: what it showed, e.g. the sampled meeting was not the caller's


def needs_for(app_type: str) -> dict[str, tuple[str, ...]]:
    return registry.endpoint_needs("user" if app_type == "user" else "account")


def reads_as_admin(client: TencentMeetingClient) -> bool:
    """An account-level OAuth app: refused a corp list, it reads its admin's own through its open_id."""
    return client.mode == "oauth" and client.app_type == "account" and client.open_id is not None


def probe_families(client: TencentMeetingClient, now: Callable[[], float] = time.time) -> dict[str, Probe]:
    """One page-size-1 call per endpoint family the client's app type uses.

    ``now`` should be the server's clock (the world a frozen emulator serves is not today).
    """
    end = int(now())
    window = {"start_time": end - PROBE_WINDOW_SECONDS, "end_time": end}
    # Ended meetings are sparse (a weekend, one user's list): look back further, still one call.
    ended = {"start_time": end - ENDED_PROBE_SECONDS, "end_time": end}
    probes: dict[str, Probe] = {}
    info = _probe(client, sc.E_USER_INFO, "/v1/users/info/basic", dict(client.operator))
    probes[sc.E_USER_INFO] = info
    # An account-level caller's own userid comes from its basic info (OAuth) or the operator (AK/SK);
    # a user-level caller names itself by open_id.
    user = client.open_id if client.app_type == "user" else (info.userid or client.settings.operator_id)
    calls: list[tuple[str, str, dict[str, Any]]] = []
    if client.app_type != "user":
        probes.update({endpoint: _probe(client, endpoint, path, params) for endpoint, path, params in (
            (sc.E_CORP_MEETINGS, "/v1/corp/meetings",
             {**client.operator, "meeting_state": 1, **ended, "page": 1, "page_size": 1}),
            (sc.E_CORP_RECORDS, "/v1/corp/records", {**client.operator, **window, "page": 1, "page_size": 1}),
            (sc.E_CORP_USERS, "/v1/corp/users", {**client.operator, "pos": "", "page_size": 1}),
            (sc.E_CORP_ROLES, "/v1/corp/user-roles", {**client.operator, "page": 1, "page_size": 1}),
        )})
    if reads_as_admin(client) and not probes[sc.E_CORP_MEETINGS].ok:
        # Refused the account-wide lists, it reads as its admin, named by its own open_id (R11).
        user = client.open_id or ""
    if client.app_type == "user" or user == client.open_id:
        calls.append((sc.E_USER_ENDED, f"/v1/history/meetings/{user}", {**ended, "page": 1, "page_size": 1}))
    if user:
        calls.append((sc.E_USER_MEETINGS, "/v1/meetings", {"userid": user, "instanceid": 1, "pos": 0, "cursory": 0}))
    calls.append((sc.E_RECORDS, "/v1/records", {**client.operator, **window, "page": 1, "page_size": 1}))
    if not user:
        probes[sc.E_USER_MEETINGS] = Probe(sc.E_USER_MEETINGS, True, "not probed: the platform gives no userid")
    probes.update({endpoint: _probe(client, endpoint, path, params) for endpoint, path, params in calls})
    meeting = next((p.found_meeting for p in probes.values() if p.found_meeting), "")
    if meeting:
        path = f"/v1/meetings/{meeting}/participants"
        probes[sc.E_PARTICIPANTS] = _probe(client, sc.E_PARTICIPANTS, path, {**client.operator, "pos": 0, "size": 1},
                                           own_only=client.mode == "oauth")
    else:
        probes[sc.E_PARTICIPANTS] = Probe(sc.E_PARTICIPANTS, True, "not probed: no recent meeting to ask about")
    return probes


def _probe(
    client: TencentMeetingClient, endpoint: str, path: str, params: dict[str, Any], *, own_only: bool = False
) -> Probe:
    """``own_only``: the endpoint serves an OAuth caller only the meetings it created or hosts, so a
    permission refusal on the sampled meeting is an answer about that meeting, not about the family."""
    try:
        body = client.get(endpoint, path, params).body
    except AuthModeUnsupported as exc:
        return Probe(endpoint, False, f"auth mode not supported: {exc.detail}")
    except PermissionDenied as exc:
        if own_only:
            return Probe(endpoint, True, note="answered; the sampled meeting is not one its caller created or hosts")
        scope = f"missing scope {exc.missing_scope}" if exc.missing_scope else "permission denied"
        return Probe(endpoint, False, f"{scope} ({exc.platform_message})")
    except TencentError as exc:
        return Probe(endpoint, False, f"error: {exc}")
    if not isinstance(body, dict):
        return Probe(endpoint, True)
    meetings = body.get("meeting_info_list") or []
    first = meetings[0] if meetings and isinstance(meetings[0], dict) else {}
    return Probe(endpoint, True, found_meeting=str(first.get("meeting_id") or ""), userid=str(body.get("userid") or ""))


def coverage_rows(client: TencentMeetingClient, plan: sc.AssetPlan, probes: dict[str, Probe]) -> list[Row]:
    """The plan as doctor rows: probes, what will run, what is skipped and why (grouped), and reach."""
    needs = needs_for(client.app_type)
    probed = ", ".join(f"{FAMILY_NAMES.get(ep, ep)} {_verdict(p)}" for ep, p in probes.items())
    rows: list[Row] = [("probes", True, probed)]
    why_not: dict[str, list[str]] = {}
    will_run: list[str] = []
    as_admin: list[str] = []
    for asset in registry.scope_needs():
        if asset in plan.skipped:
            why_not.setdefault(plan.skipped[asset], []).append(asset)
            continue
        refused = _refused(probes, needs.get(asset, ()))
        if refused and reads_as_admin(client):
            refused = _refused(probes, registry.endpoint_needs("admin").get(asset, ()))
            if not refused:
                as_admin.append(asset)
                continue
        if refused:
            why_not.setdefault(refused[0].why, []).append(asset)
        else:
            will_run.append(asset)
    rows.append(("assets", True, "will run: " + (", ".join(will_run + as_admin) or "none")))
    if as_admin:
        rows.append(("narrowed", True, f"{', '.join(as_admin)} — {ADMIN_READ}; for the whole account, "
                                       f"{auth_modes.AKSK_FIX}"))
    rows += [("skipped", False, f"{', '.join(assets)} — {why}") for why, assets in why_not.items()]
    if client.mode == "oauth":
        rows.append(("note", True, OAUTH_VISIBILITY))
    return rows


ADMIN_READ = (
    "the account-wide lists refuse OAuth, so these read the admin's own share through the per-user "
    "lists (/v1/history/meetings/{userid}, /v1/meetings, /v1/records, /v1/users/info/basic)"
)


def _refused(probes: dict[str, Probe], needs: tuple[str, ...]) -> list[Probe]:
    return [probes[ep] for ep in needs if ep in probes and not probes[ep].ok]


def _verdict(probe: Probe) -> str:
    if not probe.ok:
        return "refused"
    if probe.why:
        return "not probed"
    return f"ok ({probe.note})" if probe.note else "ok"
