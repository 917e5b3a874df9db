"""The enterprise: directory built eagerly, meetings generated per local day on demand, and time-aware queries."""

from __future__ import annotations

import threading
from dataclasses import dataclass
import uuid as uuidlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from emulator.clock import Clock
from emulator.enterprise import ids
from emulator.enterprise.directory import build_directory
from emulator.enterprise.generator import SCALES, Generator
from emulator.enterprise.model import (
    AccessEvent, Department, Instance, RecordFile, Recording, Role, Series, Session, User,
)

Scale = Literal["small", "demo", "large"]
FUTURE_DAYS = 14


class Enterprise:
    """A deterministic synthetic Tencent Meeting account seen at the clock's ``now``."""

    def __init__(
        self, seed: int, scale: Scale, days: int, clock: Clock, *, faults: str = "none", tz: str = "Asia/Shanghai"
    ) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}: use one of {sorted(SCALES)}")
        if faults not in ("none", "hostile"):
            raise ValueError(f"unknown faults profile {faults!r}: use 'none' or 'hostile'")
        self.seed = seed
        self.scale = scale
        self.days = days
        self.clock = clock
        self.faults = faults
        self.tz = ZoneInfo(tz)
        self.spec = SCALES[scale]
        self.anchor = clock.now().astimezone(self.tz).date()
        self.first_day = self.anchor - timedelta(days=days)
        self.last_day = self.anchor + timedelta(days=FUTURE_DAYS)
        directory = build_directory(seed, self.spec.users, self.anchor)
        self.users: list[User] = directory.users
        self.departments: list[Department] = directory.departments
        self.roles: list[Role] = directory.roles
        self.user_by_id = {u.userid: u for u in self.users}
        self.user_by_uuid = {u.uuid: u for u in self.users}
        self.department_by_id = {d.department_id: d for d in self.departments}
        self.role_by_code = {r.role_code: r for r in self.roles}
        self.super_admin = self.users[0].userid
        self._gen = Generator(seed, self.spec, self.users, self.tz, faults == "hostile")
        self._lock = threading.RLock()
        self._days: OrderedDict[date, list[Instance]] = OrderedDict()
        self._series: OrderedDict[date, list[Series]] = OrderedDict()

    # -- time ------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.clock.ms()

    def now_s(self) -> int:
        return int(self.clock.time())

    def local_date(self, epoch_s: float) -> date:
        return datetime.fromtimestamp(epoch_s, tz=self.tz).date()

    def local_string(self, epoch_s: float) -> str:
        return datetime.fromtimestamp(epoch_s, tz=self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def covered_days(self, first: date | None = None, last: date | None = None) -> Iterator[date]:
        day = max(first or self.first_day, self.first_day)
        end = min(last or self.last_day, self.last_day)
        while day <= end:
            yield day
            day += timedelta(days=1)

    # -- generation with a bounded cache ----------------------------------------------------

    def day(self, day: date) -> list[Instance]:
        """The day's scheduled instances (cancelled ones included), in id order."""
        if day < self.first_day or day > self.last_day:
            return []
        with self._lock:
            cached = self._days.get(day)
            if cached is not None:
                self._days.move_to_end(day)
                return cached
            instances = self._gen.day_instances(day)
            self._days[day] = instances
            while len(self._days) > self.spec.day_cache:
                self._days.popitem(last=False)
            return instances

    def week_series(self, monday: date) -> list[Series]:
        with self._lock:
            cached = self._series.get(monday)
            if cached is None:
                cached = self._series[monday] = self._gen.week_series(monday)
                while len(self._series) > 64:
                    self._series.popitem(last=False)
            return cached

    def prepared(self, inst: Instance) -> Instance:
        """Fill in the instance's sessions, media room and recording on first use."""
        if inst.sessions is not None:
            return inst
        with self._lock:
            if inst.sessions is not None:
                return inst
            attendees: tuple[str, ...] = ()
            if inst.meeting_type == ids.KIND_SERIES:
                ref = ids.parse_meeting_id(inst.meeting_id)
                if ref is not None and ref.day is not None:
                    attendees = self.week_series(ref.day)[ref.seq].attendees
            sessions = self._gen.sessions(inst, attendees)
            if sessions:
                first = min(s.join_s for s in sessions)
                last = max(s.left_s for s in sessions)
                offset = int(ids.recording_id(inst.day, inst.seq)[-8:-4]) % 997
                inst.media_start_ms = first * 1000 - offset
                inst.media_end_ms = last * 1000 + offset
                if inst.has_recording:
                    inst.recording = self._gen.recording(inst, inst.media_start_ms, inst.media_end_ms, sessions)
            inst.sessions = sessions
            return inst

    # -- meeting lookups ---------------------------------------------------------------------

    def instances_of(self, meeting_id: str) -> list[Instance]:
        """Every instance (cancelled included) of a meeting id, in time order; [] when unknown."""
        ref = ids.parse_meeting_id(meeting_id)
        if ref is None:
            return []
        if ref.kind == "day" and ref.day is not None:
            day = self.day(ref.day)
            return [day[ref.seq]] if ref.seq < len(day) and day[ref.seq].meeting_id == meeting_id else []
        if ref.kind == "series" and ref.day is not None:
            week = [ref.day + timedelta(days=k) for k in range(7)]
            return [i for d in week for i in self.day(d) if i.meeting_id == meeting_id]
        if ref.seq >= len(self.users):
            return []
        owner = self.users[ref.seq]
        return [
            i for d in self.covered_days() if owner in self._gen.pmi_users_on(d)
            for i in self.day(d) if i.meeting_id == meeting_id
        ]

    def instances_by_code(self, code: str) -> list[Instance]:
        if len(code) != 9 or not code.isdigit():
            return []
        if code[0] == "9":
            index = int(code[1:])
            return self.instances_of(ids.pmi_meeting_id(index)) if index < len(self.users) else []
        for day in self.covered_days():
            if 100 + day.toordinal() % ids.CODE_DAY_SPAN == int(code[:3]):
                seq = int(code[3:])
                if seq >= 900_000:
                    monday = day - timedelta(days=day.weekday())
                    return self.instances_of(ids.series_meeting_id(monday, seq - 900_000)) if day == monday else []
                instances = self.day(day)
                return [instances[seq]] if seq < len(instances) else []
        return []

    # -- state at now ------------------------------------------------------------------------

    def state(self, inst: Instance, now_ms: int | None = None) -> str:
        """cancelled | upcoming | live | ended | waiting (start passed, nobody in yet) | null (nobody came)."""
        now_ms = self.now_ms() if now_ms is None else now_ms
        if inst.cancelled:
            return "cancelled"
        self.prepared(inst)
        if inst.media_start_ms is not None and inst.media_start_ms <= now_ms:
            return "ended" if inst.media_end_ms is not None and inst.media_end_ms <= now_ms else "live"
        if inst.sched_start * 1000 > now_ms:
            return "upcoming"
        return "waiting" if inst.held or inst.sched_end * 1000 > now_ms else "null"

    def ended_instances(self, start_ms: int | None = None, end_ms: int | None = None) -> list[Instance]:
        """Media rooms closed by now whose start lies in [start_ms, end_ms], ordered by start."""
        now = self.now_ms()
        first = self.local_date(start_ms / 1000) if start_ms is not None else None
        last = self.local_date(min(end_ms, now) / 1000) if end_ms is not None else self.local_date(now / 1000)
        out = []
        for day in self.covered_days(first, last):
            for inst in self.day(day):
                if not inst.held:
                    continue
                self.prepared(inst)
                assert inst.media_start_ms is not None and inst.media_end_ms is not None
                if inst.media_end_ms > now:
                    continue
                if start_ms is not None and inst.media_start_ms < start_ms:
                    continue
                if end_ms is not None and inst.media_start_ms > end_ms:
                    continue
                out.append(inst)
        out.sort(key=lambda i: (i.media_start_ms, i.meeting_id, i.sub_meeting_id))
        return out

    def live_instances(self) -> list[Instance]:
        now = self.now_ms()
        today = self.local_date(now / 1000)
        out = [
            i for d in self.covered_days(today - timedelta(days=1), today) for i in self.day(d)
            if i.held and self.state(i, now) == "live"
        ]
        return sorted(out, key=lambda i: (i.sched_start, i.meeting_id, i.sub_meeting_id))

    def upcoming_instances(self) -> list[Instance]:
        now = self.now_ms()
        today = self.local_date(now / 1000)
        out = []
        for day in self.covered_days(today, None):
            for inst in self.day(day):
                if inst.cancelled or inst.sched_start * 1000 <= now:
                    continue
                # Rooms open at most ten minutes early, so only today's meetings can be live already.
                if day == today and self.state(inst, now) != "upcoming":
                    continue
                out.append(inst)
        return sorted(out, key=lambda i: (i.sched_start, i.meeting_id, i.sub_meeting_id))

    def visible_sessions(self, inst: Instance, now_s: int | None = None) -> list[Session]:
        """Sessions that have begun by now (an open one shows an empty ``left_time``)."""
        now_s = self.now_s() if now_s is None else now_s
        return [s for s in self.prepared(inst).sessions or () if s.join_s <= now_s]

    # -- recordings --------------------------------------------------------------------------

    def recordings_in(self, start_ms: int, end_ms: int) -> list[Recording]:
        """Recordings existing at now whose media start lies in [start_ms, end_ms], ordered by it."""
        now = self.now_ms()
        out = []
        for day in self.covered_days(self.local_date(start_ms / 1000), self.local_date(end_ms / 1000)):
            for inst in self.day(day):
                if not inst.has_recording:
                    continue
                rec = self.prepared(inst).recording
                if rec and rec.state_at(now) and start_ms <= rec.media_start_ms <= end_ms:
                    out.append(rec)
        out.sort(key=lambda r: (r.media_start_ms, r.meeting_record_id))
        return out

    def recording(self, meeting_record_id: str) -> Recording | None:
        """A recording by id, or None when unknown or not yet started."""
        parsed = ids.parse_recording_id(meeting_record_id)
        if parsed is None or parsed[2] != 0:
            return None
        day, seq, _ = parsed
        instances = self.day(day)
        if seq >= len(instances) or not instances[seq].has_recording:
            return None
        rec = self.prepared(instances[seq]).recording
        return rec if rec and rec.state_at(self.now_ms()) else None

    def record_file(self, record_file_id: str) -> tuple[Recording, RecordFile] | None:
        """A transcoded file by id, with its recording."""
        parsed = ids.parse_recording_id(record_file_id)
        if parsed is None or parsed[2] == 0:
            return None
        rec = self.recording(record_file_id[:-4] + "0000")
        if rec is None or rec.state_at(self.now_ms()) != 3 or parsed[2] > len(rec.files):
            return None
        return rec, rec.files[parsed[2] - 1]

    def visible_events(self, rec: Recording) -> list[AccessEvent]:
        now = self.now_ms()
        return [e for e in rec.events if e.operate_ms <= now]

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_events(self, start_ms: int, end_ms: int) -> list[dict[str, object]]:
        """Events the platform pushes for activity in [start_ms, end_ms) (and up to now), in time order."""
        return [p.body for p in self.pushed_events(start_ms, end_ms)]

    def pushed_events(self, start_ms: int, end_ms: int) -> list[PushedEvent]:
        """:meth:`webhook_events` with what the model knows about each event's operator and meeting."""
        end_ms = min(end_ms, self.now_ms() + 1)
        first = self.local_date(start_ms / 1000) - timedelta(days=1)
        out: list[PushedEvent] = []
        for day in self.covered_days(first, self.local_date(end_ms / 1000)):
            for inst in self.day(day):
                if not inst.held:
                    continue
                self.prepared(inst)
                out.extend(e for e in self._instance_events(inst) if start_ms <= e.operate_ms < end_ms)
        out.sort(key=lambda e: (e.operate_ms, e.body["trace_id"]))  # type: ignore[arg-type, return-value]
        return out

    def _instance_events(self, inst: Instance) -> Iterator[PushedEvent]:
        assert inst.sessions is not None and inst.media_start_ms is not None and inst.media_end_ms is not None
        creator = self.user_by_id.get(inst.creator)
        creator_op = _operator(creator.userid if creator else "", creator.uuid if creator else "", "",
                               creator.user_name if creator else "", 1)
        creator_kind = "enterprise" if creator else "external"
        info = {
            "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code, "subject": inst.subject,
            "sub_meeting_id": inst.sub_meeting_id, "creator": creator_op, "meeting_type": inst.meeting_type,
            "start_time": inst.sched_start, "end_time": inst.sched_end, "meeting_create_mode": 0,
            "meeting_create_from": 1, "meeting_id_type": 0,
        }
        tag = f"{self.seed}:{inst.meeting_id}:{inst.sub_meeting_id}:{inst.day.isoformat()}"

        def event(name: str, when: int, op: dict[str, str], kind: str, extra: dict[str, object] | None = None,
                  scene: bool = False) -> PushedEvent:
            meeting_info = dict(info, action_scene_type=0) if scene else info
            item: dict[str, object] = {"operate_time": when, "operator": op, "meeting_info": meeting_info}
            item.update(extra or {})
            trace = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{tag}:{name}:{when}:{op['ms_open_id']}:{op['userid']}:{op['instance_id']}"))
            return PushedEvent(when, {"event": name, "trace_id": trace, "payload": [item]}, kind)

        yield event("meeting.started", inst.media_start_ms, creator_op, creator_kind)
        yield event("meeting.end", inst.media_end_ms, creator_op, creator_kind, {"meeting_end_type": 1})
        for s in inst.sessions:
            phone = s.user_name if s.instanceid == 0 else ""
            op = _operator(s.userid, s.uuid, s.ms_open_id, s.user_name, s.instanceid, phone)
            yield event("meeting.participant-joined", s.join_s * 1000, op, s.person_kind, scene=True)
            yield event("meeting.participant-left", s.left_s * 1000, op, s.person_kind, scene=True)
        rec = inst.recording
        if rec is not None:
            files = [{"record_file_id": f.record_file_id} for f in rec.files]
            done = event("recording.completed", rec.done_ms, creator_op, creator_kind, {"recording_files": files})
            done.body["payload"][0]["meeting_info"] = dict(info, media_set_type="1")  # type: ignore[index]
            yield done


@dataclass(frozen=True, slots=True)
class PushedEvent:
    """One webhook event as the platform pushes it, with the model's view of its operator."""

    operate_ms: int
    body: dict[str, object]
    # The operator's person kind as the model knows it (the event itself has no enterprise flag).
    person_kind: str


def _operator(userid: str, uuid: str, ms_open_id: str, user_name: str, instanceid: int,
              pstn_number: str = "") -> dict[str, str]:
    """The webhook event's operator (docs/platform.md, "Webhooks"). ``instance_id`` (the device kind) tells one person's devices apart."""
    return {"userid": userid, "open_id": "", "uuid": uuid, "ms_open_id": ms_open_id, "user_name": user_name,
            "pstn_number": pstn_number, "instance_id": str(instanceid)}
