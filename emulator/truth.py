"""Ground truth: every landed table of docs/tables.md computed straight from the enterprise model.

Independent of the HTTP layer and of pipeline code, so tests can compare the warehouse with it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from emulator.api.meetings import HOST_ROLES
from emulator.enterprise import STATUS_LABELS, Enterprise, Instance, Session
from emulator.enterprise.ids import KIND_SERIES
from emulator.platform import DEFAULT_PLATFORM, Platform, check_platform

S, TS, D, I, F, B = pa.string(), pa.timestamp("us", tz="UTC"), pa.date32(), pa.int64(), pa.float64(), pa.bool_()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in cols])


SCHEMAS: dict[str, pa.Schema] = {
    "users": _schema(("userid", S), ("user_name", S), ("email", S), ("phone", S), ("area", S), ("status", I),
                     ("status_label", S), ("role_code", S), ("role_name", S), ("main_department_id", S),
                     ("main_department_name", S), ("enable_ai_account", B), ("updated_at", TS)),
    "user_departments": _schema(("userid", S), ("department_id", S), ("department_name", S),
                                ("department_full_name", S), ("is_main", B)),
    "roles": _schema(("role_code", S), ("role_name", S), ("role_desc", S), ("member_count", I)),
    "meetings": _schema(("meeting_id", S), ("sub_meeting_id", S), ("start_time", TS), ("end_time", TS),
                        ("business_date", D), ("meeting_code", S), ("subject", S), ("meeting_type", I),
                        ("creator_userid", S), ("creator_userid_type", I), ("creator_name", S),
                        ("participants_num", I), ("duration_seconds", F), ("user_duration_seconds", F)),
    "participant_sessions": _schema(("meeting_id", S), ("sub_meeting_id", S), ("meeting_start_time", TS),
                                    ("business_date", D), ("person_key", S), ("person_kind", S), ("userid", S),
                                    ("uuid", S), ("open_id", S), ("ms_open_id", S), ("user_name", S),
                                    ("phone_hash", S), ("instanceid", I), ("join_type", I), ("user_role", I),
                                    ("is_enterprise_user", B), ("join_time", TS), ("left_time", TS),
                                    ("session_seconds", F)),
    "attendance": _schema(("meeting_id", S), ("sub_meeting_id", S), ("meeting_start_time", TS),
                          ("business_date", D), ("person_key", S), ("person_kind", S), ("userid", S),
                          ("user_name", S), ("sessions", I), ("first_join_time", TS), ("last_left_time", TS),
                          ("attended_seconds", F), ("has_open_session", B)),
    "recordings": _schema(("meeting_record_id", S), ("meeting_id", S), ("meeting_code", S), ("subject", S),
                          ("host_userid", S), ("media_start_time", TS), ("business_date", D), ("state", I),
                          ("record_type", I), ("file_count", I), ("total_size_bytes", I)),
    "recording_files": _schema(("record_file_id", S), ("meeting_record_id", S), ("meeting_id", S),
                               ("business_date", D), ("record_start_time", TS), ("record_end_time", TS),
                               ("duration_seconds", F), ("record_size_bytes", I), ("sharing_state", I),
                               ("allow_download", B), ("required_same_corp", B), ("required_participant", B)),
    "recording_daily_metrics": _schema(("meeting_record_id", S), ("metric_date", D), ("business_date", D),
                                       ("view_count", I), ("download_count", I)),
    "recording_events": _schema(("meeting_record_id", S), ("event_type", I), ("event_kind", S),
                                ("operate_time", TS), ("userid", S), ("user_name", S), ("record_name", S),
                                ("business_date", D)),
    "recording_view_details": _schema(("record_file_id", S), ("meeting_record_id", S), ("userid", S),
                                      ("user_name", S), ("record_file_name", S), ("view_start_time", TS),
                                      ("view_end_time", TS), ("watched_seconds", F), ("view_progress_pct", F),
                                      ("business_date", D)),
    "upcoming_meetings": _schema(("snapshot_at", TS), ("meeting_id", S), ("meeting_code", S), ("subject", S),
                                 ("creator_userid", S), ("creator_name", S), ("meeting_type", I),
                                 ("start_time", TS), ("end_time", TS), ("online_member_num", I),
                                 ("meeting_state", I)),
}
SCHEMAS["live_meetings"] = SCHEMAS["upcoming_meetings"]
SCHEMAS["webhook_events"] = _schema(("trace_id", S), ("event", S), ("operate_time", TS), ("business_date", D),
                                    ("meeting_id", S), ("meeting_code", S), ("sub_meeting_id", S), ("person_key", S),
                                    ("person_kind", S), ("userid", S), ("user_name", S), ("payload_json", S))
SCHEMAS["live_attendance"] = _schema(("meeting_id", S), ("sub_meeting_id", S), ("person_key", S), ("person_kind", S),
                                     ("userid", S), ("user_name", S), ("join_time", TS), ("left_time", TS),
                                     ("is_open", B), ("business_date", D))
KEYS: dict[str, tuple[str, ...]] = {
    "users": ("userid",), "user_departments": ("userid", "department_id"), "roles": ("role_code",),
    "meetings": ("meeting_id", "sub_meeting_id", "start_time"),
    "participant_sessions": ("meeting_id", "sub_meeting_id", "person_key", "join_time"),
    "attendance": ("meeting_id", "sub_meeting_id", "meeting_start_time", "person_key"),
    "recordings": ("meeting_record_id",), "recording_files": ("record_file_id",),
    "recording_daily_metrics": ("meeting_record_id", "metric_date"),
    "recording_events": ("meeting_record_id", "event_type", "operate_time", "userid"),
    "recording_view_details": ("record_file_id", "userid", "view_start_time"),
    "upcoming_meetings": ("snapshot_at", "meeting_id"), "live_meetings": ("snapshot_at", "meeting_id"),
    "webhook_events": ("trace_id", "operate_time", "person_key"),
    "live_attendance": ("meeting_id", "sub_meeting_id", "person_key", "join_time"),
}


def _us(ms: int) -> int:
    return ms * 1000


def _frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    key = KEYS[table]
    rows.sort(key=lambda r: tuple(r[k] for k in key))
    return pa.Table.from_pylist(rows, schema=SCHEMAS[table]).to_pandas(types_mapper=pd.ArrowDtype)


def _or_none(value: str) -> str | None:
    return value or None


def compute_truth(enterprise: Enterprise, *, start: date, end: date) -> dict[str, pd.DataFrame]:
    """Every landed table (except sync_log and quarantine) at the clock's now, for business dates [start, end].

    The webhook tables hold what a receiver subscribed since ``start`` has been pushed by now.
    """
    ent = enterprise
    now_ms = ent.now_ms()
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
    _directory(ent, rows)
    for day in ent.covered_days(start, end):
        for inst in ent.day(day):
            if not inst.held or ent.state(inst, now_ms) != "ended":
                continue
            _meeting(ent, inst, day, rows)
            if inst.recording is not None and inst.recording.state_at(now_ms):
                _recording(ent, inst, day, now_ms, rows)
    _snapshots(ent, now_ms, rows)
    _webhooks(ent, start, end, now_ms, rows)
    return {name: _frame(name, table_rows) for name, table_rows in rows.items()}


def _directory(ent: Enterprise, rows: dict[str, list[dict[str, Any]]]) -> None:
    counts = Counter(u.role_code for u in ent.users)
    for r in ent.roles:
        rows["roles"].append({"role_code": r.role_code, "role_name": r.role_name, "role_desc": r.role_desc,
                              "member_count": counts[r.role_code]})
    for u in ent.users:
        main = next((ent.department_by_id[d] for d, is_main in u.departments if is_main), None)
        updated = datetime.strptime(u.update_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ent.tz)
        rows["users"].append({
            "userid": u.userid, "user_name": u.user_name, "email": u.email, "phone": u.phone, "area": u.area,
            "status": u.status, "status_label": STATUS_LABELS[u.status], "role_code": u.role_code,
            "role_name": ent.role_by_code[u.role_code].role_name,
            "main_department_id": main.department_id if main else None,
            "main_department_name": main.name if main else None, "enable_ai_account": u.enable_ai_account,
            "updated_at": int(updated.timestamp()) * 1_000_000,
        })
        for dept_id, is_main in u.departments:
            d = ent.department_by_id[dept_id]
            rows["user_departments"].append({"userid": u.userid, "department_id": d.department_id,
                                             "department_name": d.name, "department_full_name": d.full_name,
                                             "is_main": is_main})


def _meeting(ent: Enterprise, inst: Instance, day: date, rows: dict[str, list[dict[str, Any]]]) -> None:
    sessions = inst.sessions or []
    assert inst.media_start_ms is not None and inst.media_end_ms is not None
    creator = ent.user_by_id.get(inst.creator)
    rows["meetings"].append({
        "meeting_id": inst.meeting_id, "sub_meeting_id": inst.sub_meeting_id,
        "start_time": _us(inst.media_start_ms), "end_time": _us(inst.media_end_ms), "business_date": day,
        "meeting_code": inst.meeting_code, "subject": inst.subject, "meeting_type": inst.meeting_type,
        "creator_userid": inst.creator, "creator_userid_type": 1,
        "creator_name": creator.user_name if creator else inst.creator,
        "participants_num": len({s.person_key for s in sessions}),
        "duration_seconds": (inst.media_end_ms - inst.media_start_ms) / 1000,
        "user_duration_seconds": sum(s.left_s - s.join_s for s in sessions) * 1000 / 1000,
    })
    if inst.deleted:
        return  # the platform answers 9003 for its participants, so nothing can be landed
    base = {"meeting_id": inst.meeting_id, "sub_meeting_id": inst.sub_meeting_id,
            "meeting_start_time": _us(inst.media_start_ms), "business_date": day}
    people: dict[str, list[Session]] = {}
    for s in sessions:
        people.setdefault(s.person_key, []).append(s)
        rows["participant_sessions"].append({
            **base, "person_key": s.person_key, "person_kind": s.person_kind, "userid": _or_none(s.userid),
            "uuid": _or_none(s.uuid), "open_id": None, "ms_open_id": s.ms_open_id, "user_name": s.user_name,
            "phone_hash": _or_none(s.phone_hash), "instanceid": s.instanceid, "join_type": s.join_type,
            "user_role": s.user_role, "is_enterprise_user": s.is_enterprise_user,
            "join_time": s.join_s * 1_000_000, "left_time": s.left_s * 1_000_000,
            "session_seconds": float(s.left_s - s.join_s),
        })
    for key, own in people.items():
        own.sort(key=lambda s: (s.join_s, s.instanceid))
        first = own[0]
        rows["attendance"].append({
            **base, "person_key": key, "person_kind": first.person_kind, "userid": _or_none(first.userid),
            "user_name": first.user_name, "sessions": len(own), "first_join_time": first.join_s * 1_000_000,
            "last_left_time": max(s.left_s for s in own) * 1_000_000,
            "attended_seconds": float(_union_seconds([(s.join_s, s.left_s) for s in own])),
            "has_open_session": False,
        })


def _union_seconds(intervals: list[tuple[int, int]]) -> int:
    total, cur_start, cur_end = 0, None, None
    for lo, hi in sorted(intervals):
        if cur_end is None or lo > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = lo, hi
        else:
            cur_end = max(cur_end, hi)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _recording(ent: Enterprise, inst: Instance, day: date, now_ms: int, rows: dict[str, list[dict[str, Any]]]) -> None:
    rec = inst.recording
    assert rec is not None
    state = rec.state_at(now_ms)
    files = rec.files if state == 3 else []
    rid = rec.meeting_record_id
    rows["recordings"].append({
        "meeting_record_id": rid, "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code,
        "subject": inst.subject, "host_userid": inst.creator, "media_start_time": _us(rec.media_start_ms),
        "business_date": day, "state": state, "record_type": rec.record_type, "file_count": len(files),
        "total_size_bytes": sum(f.size for f in files),
    })
    names = {}
    for f in files:
        names[f.record_file_id] = f.file_name
        rows["recording_files"].append({
            "record_file_id": f.record_file_id, "meeting_record_id": rid, "meeting_id": inst.meeting_id,
            "business_date": day, "record_start_time": _us(f.start_ms), "record_end_time": _us(f.end_ms),
            "duration_seconds": (f.end_ms - f.start_ms) / 1000, "record_size_bytes": f.size,
            "sharing_state": f.sharing_state, "allow_download": f.allow_download,
            "required_same_corp": f.required_same_corp, "required_participant": f.required_participant,
        })
    daily: Counter[tuple[date, int]] = Counter()
    for e in ent.visible_events(rec):
        daily[(ent.local_date(e.operate_ms / 1000), e.event_type)] += 1
        rows["recording_events"].append({
            "meeting_record_id": rid, "event_type": e.event_type, "event_kind": "view" if e.event_type == 2 else "download",
            "operate_time": _us(e.operate_ms), "userid": e.userid, "user_name": e.user_name,
            "record_name": inst.subject, "business_date": day,
        })
        if e.event_type == 2:
            rows["recording_view_details"].append({
                "record_file_id": e.record_file_id, "meeting_record_id": rid, "userid": e.userid,
                "user_name": e.user_name, "record_file_name": names[e.record_file_id],
                "view_start_time": _us(e.operate_ms), "view_end_time": _us(e.operate_ms + e.view_ms),
                "watched_seconds": e.view_ms / 1000, "view_progress_pct": float(e.progress), "business_date": day,
            })
    for metric_date in sorted({d for d, _ in daily}):
        rows["recording_daily_metrics"].append({
            "meeting_record_id": rid, "metric_date": metric_date, "business_date": day,
            "view_count": daily[(metric_date, 2)], "download_count": daily[(metric_date, 1)],
        })


def _snapshots(ent: Enterprise, now_ms: int, rows: dict[str, list[dict[str, Any]]]) -> None:
    now_s = now_ms // 1000
    for table, state, found in (("live_meetings", 2, ent.live_instances()), ("upcoming_meetings", 3, ent.upcoming_instances())):
        seen: set[str] = set()
        for inst in found:
            if inst.meeting_id in seen:
                continue
            seen.add(inst.meeting_id)
            creator = ent.user_by_id.get(inst.creator)
            online = None
            if state == 2:
                online = len({s.person_key for s in ent.visible_sessions(inst, now_s) if s.left_s > now_s})
            rows[table].append({
                "snapshot_at": _us(now_ms), "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code,
                "subject": inst.subject, "creator_userid": inst.creator,
                "creator_name": creator.user_name if creator else inst.creator, "meeting_type": inst.meeting_type,
                "start_time": inst.sched_start * 1_000_000, "end_time": inst.sched_end * 1_000_000,
                "online_member_num": online, "meeting_state": state,
            })


def _webhooks(ent: Enterprise, start: date, end: date, now_ms: int, rows: dict[str, list[dict[str, Any]]]) -> None:
    first_ms = _local_midnight_ms(ent, start)
    after_ms = _local_midnight_ms(ent, end + timedelta(days=1))
    for pushed in ent.pushed_events(first_ms, after_ms):
        body = pushed.body
        for item in body["payload"]:  # type: ignore[attr-defined]
            op, info = item["operator"], item["meeting_info"]
            rows["webhook_events"].append({
                "trace_id": body["trace_id"], "event": body["event"], "operate_time": _us(item["operate_time"]),
                "business_date": ent.local_date(item["operate_time"] / 1000), "meeting_id": info["meeting_id"],
                "meeting_code": info["meeting_code"], "sub_meeting_id": info["sub_meeting_id"],
                "person_key": op["userid"] or op["uuid"] or op["ms_open_id"], "person_kind": pushed.person_kind,
                "userid": _or_none(op["userid"]), "user_name": op["user_name"],
                "payload_json": json.dumps(item, ensure_ascii=False, sort_keys=True),
            })
    # One row per join session that has begun, whatever its meeting's fate (live, deleted later).
    for day in ent.covered_days(start - timedelta(days=1), end):
        for inst in ent.day(day):
            if not inst.held:
                continue
            for s in ent.prepared(inst).sessions or ():
                join_ms, left_ms = s.join_s * 1000, s.left_s * 1000
                if not first_ms <= join_ms < after_ms or join_ms > now_ms:
                    continue
                closed = left_ms <= now_ms
                rows["live_attendance"].append({
                    "meeting_id": inst.meeting_id, "sub_meeting_id": inst.sub_meeting_id, "person_key": s.person_key,
                    "person_kind": s.person_kind, "userid": _or_none(s.userid), "user_name": s.user_name,
                    "join_time": _us(join_ms), "left_time": _us(left_ms) if closed else None, "is_open": not closed,
                    "business_date": ent.local_date(s.join_s),
                })


def _local_midnight_ms(ent: Enterprise, day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=ent.tz).timestamp()) * 1000


def write_truth(tables: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """Write ``out_dir/<table>.parquet`` for every table, byte-for-byte reproducible."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False)
        pq.write_table(table, out_dir / f"{name}.parquet")


# -- truth by viewer ---------------------------------------------------------------------------

AuthMode = Literal["oauth", "aksk"]
AppType = Literal["account", "user"]
# Tables filled from the event subscription, not from API reads: every viewer gets them whole.
PUSHED_TABLES = frozenset({"webhook_events", "live_attendance"})


@dataclass(frozen=True)
class Viewer:
    """Who reads the platform: its reading, the auth mode, the app type and the users it acts for.

    ``userids`` are the authorizing users of a user-level app; for an account-level OAuth app they
    name the admin it acts for (default: the enterprise's super admin). AK/SK ignores them.
    """

    platform: Platform = DEFAULT_PLATFORM
    auth_mode: AuthMode = "aksk"
    app_type: AppType = "account"
    userids: frozenset[str] = frozenset()

    @property
    def sees_everything(self) -> bool:
        return self.auth_mode == "aksk" or (self.app_type == "account" and self.platform == "scope-table")

    @property
    def oauth_created_only(self) -> bool:
        return self.auth_mode == "oauth" and self.platform == "api-reference"


def compute_viewer_truth(enterprise: Enterprise, *, start: date, end: date, viewer: Viewer) -> dict[str, pd.DataFrame]:
    """The rows of :func:`compute_truth` that ``viewer`` can reach through the API (docs/platform.md).

    Row values are the whole truth's: a user-level app lands meetings with scheduled rather than
    actual times, so compare its meetings by key.
    """
    check_platform(viewer.platform)
    whole = compute_truth(enterprise, start=start, end=end)
    if viewer.sees_everything:
        return whole
    reach = _Reach(enterprise, viewer)
    meetings = reach.ended_meetings(start, end)
    listable = {key for key in meetings if reach.may_list_participants(key)}
    recordings = set(whole["recordings"]["meeting_record_id"][
        [reach.owns_recording(mid, host) for mid, host in
         whole["recordings"][["meeting_id", "host_userid"]].itertuples(index=False, name=None)]
    ])
    snapshot_ids = reach.upcoming_or_live()
    own_record = viewer.app_type == "user" or viewer.oauth_created_only
    meeting_key = ["meeting_id", "sub_meeting_id"]
    keep: dict[str, tuple[list[str], set[Any]]] = {
        "meetings": (meeting_key, meetings),
        "participant_sessions": (meeting_key, listable),
        "attendance": (meeting_key, listable),
        "recordings": (["meeting_record_id"], recordings),
        "recording_files": (["meeting_record_id"], recordings),
        "recording_daily_metrics": (["meeting_record_id"], recordings),
        "recording_events": (["meeting_record_id"], recordings),
        "recording_view_details": (["meeting_record_id"], recordings),
        "upcoming_meetings": (["meeting_id"], snapshot_ids),
        "live_meetings": (["meeting_id"], snapshot_ids),
        # No directory list is documented as taking OAuth (/v1/corp/users and /v1/users/list refuse
        # it; /v1/users/advance/list and /v1/users/{userid} list AK/SK alone), so under the API
        # reference an OAuth caller reaches only its own record, through /v1/users/info/basic.
        "users": (["userid"], set(reach.acting) if own_record else set(whole["users"]["userid"])),
        "user_departments": (["userid"], set() if own_record else set(whole["users"]["userid"])),
        # Only /v1/corp/user-roles lists roles, and it takes AK/SK alone under the API reference.
        "roles": (["role_code"], set() if viewer.app_type == "user" or viewer.oauth_created_only
                  else set(whole["roles"]["role_code"])),
    }
    out = {}
    for name, frame in whole.items():
        if name in PUSHED_TABLES:
            out[name] = frame
            continue
        columns, allowed = keep[name]
        out[name] = _rows_in(frame, columns, allowed)
    return out


class _Reach:
    """The emulator's own visibility rules (emulator/api), restated over the model."""

    def __init__(self, ent: Enterprise, viewer: Viewer) -> None:
        if viewer.userids:
            acting = frozenset(viewer.userids)
        elif viewer.app_type == "account":
            acting = frozenset({ent.super_admin})
        else:
            raise ValueError("a user-level viewer needs the authorizing userids (Viewer.userids)")
        unknown = sorted(acting - ent.user_by_id.keys())
        if unknown:
            raise ValueError(f"unknown userids {', '.join(unknown)}: name users of the generated enterprise")
        self.ent = ent
        self.acting = acting
        self.oauth_only = viewer.oauth_created_only

    def hidden(self, inst: Instance) -> bool:
        return self.oauth_only and not inst.oauth_created

    def involved(self, inst: Instance) -> bool:
        return inst.creator in self.acting or any(s.userid in self.acting for s in self.ent.visible_sessions(inst))

    def ended_meetings(self, start: date, end: date) -> set[tuple[str, str]]:
        """What the per-user ended list returns: past their scheduled end, created or attended."""
        ent, now_s = self.ent, self.ent.now_s()
        return {
            inst.key for day in ent.covered_days(start, end) for inst in ent.day(day)
            if inst.held and ent.state(inst) == "ended" and inst.sched_end <= now_s
            and not self.hidden(inst) and self.involved(inst)
        }

    def may_list_participants(self, key: tuple[str, str]) -> bool:
        """Participants: the creator or a host of the meeting (this occurrence, for a series)."""
        instances = self.ent.instances_of(key[0])
        if instances and instances[0].meeting_type == KIND_SERIES:
            instances = [i for i in instances if i.sub_meeting_id == key[1]]
        return any(
            i.creator in self.acting
            or any(s.userid in self.acting and s.user_role in HOST_ROLES for s in self.ent.visible_sessions(i))
            for i in instances
        )

    def owns_recording(self, meeting_id: str, host: str) -> bool:
        instances = self.ent.instances_of(meeting_id)
        return host in self.acting and not (instances and all(self.hidden(i) for i in instances))

    def upcoming_or_live(self) -> set[str]:
        ent = self.ent
        return {i.meeting_id for i in ent.live_instances() + ent.upcoming_instances()
                if not self.hidden(i) and self.involved(i)}


def _rows_in(frame: pd.DataFrame, columns: list[str], allowed: set[Any]) -> pd.DataFrame:
    if len(columns) == 1:
        mask = frame[columns[0]].isin(list(allowed)).to_numpy(dtype=bool)
    else:
        mask = [key in allowed for key in frame[columns].itertuples(index=False, name=None)]
    return frame[mask].reset_index(drop=True)
