"""Deterministic generation: a day's meeting instances, a week's recurring series, sessions and recordings.

Every random stream is seeded from the enterprise seed and the thing it describes (a date, a
meeting id), never from ``now`` or from the order of queries, so any piece can be rebuilt alone.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from emulator.enterprise import ids
from emulator.enterprise.directory import EMOJI, token
from emulator.enterprise.model import (
    CREATED_VIA_OAUTH, AccessEvent, Instance, RecordFile, Recording, Series, Session, User,
)

SUBJECTS = [
    "周例会", "项目评审", "需求讨论", "Weekly sync", "Design review", "Sprint planning", "客户沟通会",
    "季度复盘", "1:1 check-in", "Incident postmortem", "新人培训", "架构评审", "Roadmap Q&A",
    "销售周报", "Budget review", "产品发布会彩排", "All hands 🎉", "技术分享：数据湖", "Hiring sync",
]
WEBINAR_SUBJECTS = ["产品发布直播", "Webinar: Meeting analytics 101", "行业峰会分论坛", "Customer webinar 🚀"]
ALL_HANDS_SUBJECTS = ["全员大会", "All hands 🎉", "季度全员沟通会", "CEO town hall"]
BIG_WEBINAR_SUBJECTS = ["年度产品发布会 直播", "Webinar: Scaling hybrid work", "行业峰会主论坛", "Customer summit 🚀"]
# Weekday -> (meeting type, local start minute, minutes) of that day's big meeting. Monday, Wednesday
# and Friday leave at most two days between them, so any three-day window holds one.
BIG_MEETINGS: dict[int, tuple[int, int, int]] = {
    0: (ids.KIND_ONE_OFF, 10 * 60, 90),
    2: (ids.KIND_WEBINAR, 14 * 60, 120),
    4: (ids.KIND_WEBINAR, 15 * 60, 90),
}
DURATIONS = (15, 30, 30, 45, 60, 60, 60, 90, 120)
# Expected share of a day's meetings created through an OAuth app rather than in the clients.
OAUTH_CREATED_SHARE = 0.05
PSTN_INSTANCE = 0
ROOMS_INSTANCES = (20, 21, 22)
CLIENT_INSTANCES = (1, 1, 1, 2, 2, 3, 4, 5, 6, 10)
ROLE_CREATOR_HOST, ROLE_MEMBER, ROLE_GUEST, ROLE_COHOST = 3, 0, 4, 6
# Share of enabled users who hold a licence but do not meet: without them every enabled user
# meets and a licence review ("licensed, no meeting in 30 days") finds only disabled accounts.
DORMANT_SHARE = 0.06
# The first users (the super admin and the hosts of the big meetings) always meet.
ALWAYS_MEETING_USERS = 5


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    users: int
    meetings_per_working_day: int
    series_per_week: int
    pmi_per_day: int
    attendees: tuple[int, int]
    day_cache: int
    # Session count aimed at by all-hands and big webinars (rejoins and devices add up to ~10 %).
    big_sessions: tuple[int, int] = (150, 520)


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(40, 10, 2, 1, (2, 7), 512, big_sessions=(110, 140)),
    "demo": ScaleSpec(200, 60, 8, 3, (3, 12), 512, big_sessions=(150, 520)),
    "large": ScaleSpec(20_000, 1_250, 80, 30, (5, 13), 40, big_sessions=(150, 520)),
}


def person_kind(instanceid: int, join_type: int, is_enterprise_user: bool) -> str:
    """docs/tables.md *Person identity*: first matching rule wins."""
    if instanceid == 0 or join_type in (0, 4, 5, 6):
        return "pstn"
    if instanceid in (20, 21, 22, 30, 32, 33):
        return "rooms"
    return "enterprise" if is_enterprise_user else "external"


def is_dormant(seed: int, user: User) -> bool:
    """An enabled user who neither hosts, attends nor watches anything (stable per seed and user)."""
    if user.status != 1 or user.index < ALWAYS_MEETING_USERS:
        return False
    digest = hashlib.sha256(f"{seed}:unused:{user.userid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < DORMANT_SHARE


class Generator:
    """Builds instances, sessions and recordings; holds no mutable state besides its inputs."""

    def __init__(self, seed: int, spec: ScaleSpec, users: list[User], tz: ZoneInfo, hostile: bool) -> None:
        self.seed = seed
        self.spec = spec
        self.users = users
        self.tz = tz
        self.hostile = hostile
        self.dormant = frozenset(u.userid for u in users if is_dormant(seed, u))
        self.active = [u for u in users if u.status == 1 and u.userid not in self.dormant]
        self.pmi_owners = [u for u in users if u.has_pmi and u.userid not in self.dormant]
        self.active_by_id = {u.userid: u for u in self.active}

    def local_epoch(self, day: date, minute: int) -> int:
        """Unix seconds of ``minute`` minutes after local midnight of ``day``."""
        midnight = datetime.combine(day, time(0), tzinfo=self.tz)
        return int(midnight.timestamp()) + minute * 60

    # -- recurring series and PMI use ------------------------------------------------------

    def week_series(self, monday: date) -> list[Series]:
        rng = random.Random(f"{self.seed}:series:{monday.isoformat()}")
        patterns = ((0, 1, 2, 3, 4), (0, 2, 4), (1, 3), (0, 3), (2,))
        out = []
        for index in range(self.spec.series_per_week):
            weekdays = patterns[index % len(patterns)] if index < len(patterns) else rng.choice(patterns)
            creator = rng.choice(self.active)
            k = rng.randint(*self.spec.attendees)
            attendees = tuple(u.userid for u in rng.sample(self.active, min(k, len(self.active))))
            cancelled = (weekdays[-1],) if len(weekdays) > 2 and rng.random() < 0.5 else ()
            out.append(
                Series(
                    meeting_id=ids.series_meeting_id(monday, index),
                    meeting_code=ids.series_meeting_code(monday, index),
                    subject=rng.choice(("每日站会", "Daily standup", "周会", "Team sync", "例行周会 📅")),
                    creator=creator.userid,
                    weekdays=weekdays,
                    start_minute=rng.choice((9 * 60 + 30, 10 * 60, 14 * 60, 16 * 60 + 30)),
                    duration_minutes=rng.choice((15, 30, 45, 60)),
                    cancelled_weekdays=cancelled,
                    attendees=attendees,
                )
            )
        return out

    def pmi_users_on(self, day: date) -> list[User]:
        if not self.pmi_owners or day.weekday() >= 5:
            return []
        rng = random.Random(f"{self.seed}:pmi:{day.isoformat()}")
        count = min(self.spec.pmi_per_day, len(self.pmi_owners))
        return sorted(rng.sample(self.pmi_owners, count), key=lambda u: u.index)

    # -- a day's instances -----------------------------------------------------------------

    def day_instances(self, day: date) -> list[Instance]:
        rng = random.Random(f"{self.seed}:day:{day.isoformat()}")
        working = day.weekday() < 5
        out: list[Instance] = []
        monday = day - timedelta(days=day.weekday())
        for series in self.week_series(monday):
            if day.weekday() in series.weekdays:
                start = self.local_epoch(day, series.start_minute)
                out.append(
                    self._instance(
                        rng, day, len(out), series.meeting_id, str(start), series.meeting_code,
                        series.subject, 1, series.creator, start, start + series.duration_minutes * 60,
                        cancelled=day.weekday() in series.cancelled_weekdays,
                    )
                )
        for owner in self.pmi_users_on(day):
            minute = rng.randrange(9 * 60, 18 * 60, 5)
            start = self.local_epoch(day, minute)
            out.append(
                self._instance(
                    rng, day, len(out), ids.pmi_meeting_id(owner.index), "", ids.pmi_meeting_code(owner.index),
                    f"{owner.user_name}的个人会议室", 0, owner.userid, start, start + rng.choice(DURATIONS) * 60,
                    is_pmi=True,
                )
            )
        target = self.spec.meetings_per_working_day if working else rng.randint(0, max(1, self.spec.meetings_per_working_day // 25))
        count = max(target - len(out), 6) if working else target
        for j in range(count):
            seq = len(out)
            # The first slots of a working day hold one of each rare case, so every scale has them.
            special = j if working else -1
            kind = ids.KIND_WEBINAR if special == 0 or (special > 5 and rng.random() < 0.02) else ids.KIND_ONE_OFF
            if special == 3:
                minute = rng.randrange(23 * 60 + 10, 23 * 60 + 35, 5)
                duration = rng.choice((60, 75, 90))
            else:
                minute = rng.randrange(8 * 60 + 30, 19 * 60, 15)
                duration = rng.choice(DURATIONS)
            quick = special == 4 or (special > 5 and kind == ids.KIND_ONE_OFF and rng.random() < 0.15)
            if quick:
                minute += rng.randint(1, 14)
            start = self.local_epoch(day, minute)
            subject = rng.choice(WEBINAR_SUBJECTS if kind == ids.KIND_WEBINAR else SUBJECTS)
            out.append(
                self._instance(
                    rng, day, seq, ids.day_meeting_id(day, kind, seq), "", ids.day_meeting_code(day, seq),
                    subject, kind, rng.choice(self.active).userid, start, start + duration * 60,
                    cancelled=special == 1 or (special > 5 and rng.random() < 0.04),
                    no_show=special == 2 or (special > 5 and rng.random() < 0.03),
                    quick=quick,
                    recording=special == 5 or None,
                )
            )
        if working and day.weekday() in BIG_MEETINGS:
            out.append(self._big_instance(day, len(out)))
        self._mark_oauth_created(day, out)
        self._mark_deleted(day, out)
        return out

    def _mark_oauth_created(self, day: date, instances: list[Instance]) -> None:
        """Flag a seeded few of the day's one-off meetings and webinars as created through an OAuth app.

        A stream of its own (seeded by the date) leaves every other draw of the day unchanged, so
        the same seed gives the same enterprise with or without this flag. Recurring series and
        personal rooms keep being created in the clients, and all-hands stay client meetings too.
        """
        candidates = [i for i in instances if i.held and i.meeting_type != ids.KIND_SERIES and not i.is_pmi
                      and not i.audience]
        if not candidates:
            return
        rng = random.Random(f"{self.seed}:oauth-created:{day.isoformat()}")
        # Stochastic rounding keeps the expected share on small days too; the big-meeting weekdays
        # hold at least one, so any three-day window has an OAuth-created meeting, and a recorded
        # one where the day has any, so OAuth callers always have recordings to read.
        floor = 1 if day.weekday() in BIG_MEETINGS else 0
        count = min(len(candidates), max(floor, int(OAUTH_CREATED_SHARE * len(instances) + rng.random())))
        recorded = [i for i in candidates if i.has_recording]
        picks = [rng.choice(recorded)] if floor and count and recorded else []
        rest = [i for i in candidates if i is not (picks[0] if picks else None)]
        for inst in picks + rng.sample(rest, count - len(picks)):
            inst.created_via = CREATED_VIA_OAUTH

    def _big_instance(self, day: date, seq: int) -> Instance:
        """The day's all-hands or big webinar: always held and recorded, a few hundred sessions."""
        rng = random.Random(f"{self.seed}:big:{day.isoformat()}")
        kind, minute, minutes = BIG_MEETINGS[day.weekday()]
        start = self.local_epoch(day, minute)
        subject = rng.choice(BIG_WEBINAR_SUBJECTS if kind == ids.KIND_WEBINAR else ALL_HANDS_SUBJECTS)
        creator = self.active[rng.randrange(min(len(self.active), 5))]
        lead = rng.randint(7 * 86400, 21 * 86400)
        return Instance(
            meeting_id=ids.day_meeting_id(day, kind, seq), sub_meeting_id="", meeting_code=ids.day_meeting_code(day, seq),
            subject=subject, meeting_type=kind, quick=False, is_pmi=False, creator=creator.userid, day=day, seq=seq,
            sched_start=start, sched_end=start + minutes * 60, created_ms=(start - lead) * 1000 + seq % 997,
            cancelled=False, held=True, deleted=False, has_recording=True, audience=rng.randint(*self.spec.big_sessions),
        )

    def _instance(
        self, rng: random.Random, day: date, seq: int, meeting_id: str, sub_id: str, code: str, subject: str,
        meeting_type: int, creator: str, start: int, end: int, *, cancelled: bool = False, no_show: bool = False,
        quick: bool = False, is_pmi: bool = False, recording: bool | None = None,
    ) -> Instance:
        lead = 60 if quick else rng.randint(3600, 7 * 86400)
        held = not cancelled and not no_show
        has_recording = held and (recording if recording is not None else rng.random() < 0.3)
        return Instance(
            meeting_id=meeting_id, sub_meeting_id=sub_id, meeting_code=code, subject=subject,
            meeting_type=meeting_type, quick=quick, is_pmi=is_pmi, creator=creator, day=day, seq=seq,
            sched_start=start, sched_end=end, created_ms=(start - lead) * 1000 + seq % 997,
            cancelled=cancelled, held=held, deleted=False, has_recording=has_recording,
        )

    def _mark_deleted(self, day: date, instances: list[Instance]) -> None:
        if not self.hostile:
            return
        # Big meetings stay readable so multi-page participant walks are exercised even under faults.
        eligible = [i for i in instances if i.held and not i.is_pmi and not i.has_recording and not i.audience]
        if not eligible:
            return
        rng = random.Random(f"{self.seed}:hostile:{day.isoformat()}")
        for inst in rng.sample(eligible, max(1, round(0.02 * len(eligible)))):
            inst.deleted = True

    # -- sessions --------------------------------------------------------------------------

    def sessions(self, inst: Instance, series_attendees: tuple[str, ...] = ()) -> list[Session]:
        if not inst.held:
            return []
        rng = random.Random(f"{self.seed}:sessions:{inst.meeting_id}:{inst.sub_meeting_id}:{inst.day.isoformat()}")
        by_id = self.active_by_id
        creator = by_id.get(inst.creator) or self.users[0]
        if inst.audience:
            return self._big_sessions(inst, rng, creator)
        lo, hi = self.spec.attendees
        if inst.meeting_type == ids.KIND_WEBINAR:
            lo, hi = lo * 2, hi * 2
        pool = [by_id[x] for x in series_attendees if x in by_id and x != creator.userid]
        if not pool:
            pool = rng.sample(self.active, min(hi + 1, len(self.active)))
            pool = [u for u in pool if u.userid != creator.userid]
        people = [creator] + pool[: rng.randint(lo, hi)]
        start, end = inst.sched_start, inst.sched_end
        built = _SessionList()
        add, out = built.add, built.out

        for idx, user in enumerate(people):
            host = idx == 0
            join = start - rng.randint(0, 300) if host else start + int(rng.triangular(-300, 900, 30))
            left = end + int(rng.triangular(-900, 600, 60))
            left = max(left, join + 120)
            iid = rng.choice(CLIENT_INSTANCES)
            role = ROLE_CREATOR_HOST if host else (ROLE_COHOST if rng.random() < 0.05 else ROLE_MEMBER)
            ms_open_id = token(rng, 20)
            rejoin = (host and inst.seq % 4 == 0) or rng.random() < 0.1
            multi = (host and inst.seq % 4 == 1) or rng.random() < 0.05
            if rejoin and left - join > 600:
                cut = join + rng.randint(120, (left - join) // 2)
                back = cut + rng.randint(20, 300)
                add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, join, cut)
                add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, back, left)
            else:
                add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, join, left)
            if multi:
                other = 4 if iid != 4 else 1
                j2 = join + rng.randint(30, 600)
                add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", other, 1, role, True,
                    j2, max(j2 + 60, left - rng.randint(0, 600)))
        extras = 1 + (1 if hi > 8 else 0)
        if inst.seq % 3 == 0 or rng.random() < 0.15:
            for _ in range(extras):
                ms_open_id = token(rng, 20)
                number = f"1{rng.randint(30, 99)}****{rng.randint(0, 9999):04d}"
                phone = hashlib.sha256(f"{number}/{self.seed}/{ms_open_id}".encode()).hexdigest()
                join = start + rng.randint(-60, 900)
                add(ms_open_id, "", "", ms_open_id, number, phone, PSTN_INSTANCE, 0, ROLE_MEMBER, False,
                    join, end + rng.randint(-900, 300))
        if inst.seq % 3 == 1 or rng.random() < 0.15:
            for _ in range(extras):
                uuid = "WX" + token(rng, 16)
                name = rng.choice(("Guest ", "访客", "Lee ", "Kim ")) + token(rng, 3) + (rng.choice(EMOJI) if rng.random() < 0.3 else "")
                join = start + rng.randint(0, 900)
                add(uuid, "", uuid, token(rng, 20), name, "", rng.choice(CLIENT_INSTANCES), 1, ROLE_GUEST, False,
                    join, end + rng.randint(-1200, 300))
        if inst.seq % 3 == 2 or rng.random() < 0.1:
            uuid = "RM" + token(rng, 16)
            add(uuid, "", uuid, token(rng, 20), f"会议室 {rng.randint(2, 9)}F-{rng.choice('ABCD')}", "",
                rng.choice(ROOMS_INSTANCES), 1, ROLE_MEMBER, True, start - rng.randint(0, 120), end + rng.randint(0, 300))
        out.sort(key=lambda s: (s.join_s, s.person_key, s.instanceid))
        return out

    def _big_sessions(self, inst: Instance, rng: random.Random, creator: User) -> list[Session]:
        """An all-hands (staff, rooms, phone dial-ins) or a webinar (mostly outside guests)."""
        start, end = inst.sched_start, inst.sched_end
        webinar = inst.meeting_type == ids.KIND_WEBINAR
        target = inst.audience
        others = [u for u in self.active if u.userid != creator.userid]
        staff = rng.sample(others, min(len(others), target // 5 if webinar else target * 4 // 5))
        built = _SessionList()
        built.staff(rng, creator, ROLE_CREATOR_HOST, start - rng.randint(300, 900), end + rng.randint(0, 300),
                    rejoin=False, multi=True)
        for user in staff:
            join = start + int(rng.triangular(-300, 1200, 60))
            left = max(join + 120, end + int(rng.triangular(-2400, 600, 0)))
            role = ROLE_COHOST if rng.random() < 0.02 else ROLE_MEMBER
            built.staff(rng, user, role, join, left, rejoin=rng.random() < 0.1, multi=rng.random() < 0.05)
        for _ in range(max(2, target // 60)):
            uuid = "RM" + token(rng, 16)
            built.add(uuid, "", uuid, token(rng, 20), f"会议室 {rng.randint(2, 30)}F-{rng.choice('ABCD')}", "",
                      rng.choice(ROOMS_INSTANCES), 1, ROLE_MEMBER, True, start - rng.randint(0, 300),
                      end + rng.randint(0, 300))
        rest = max(target - len(built.out), target // 20)
        for _ in range(rest):
            join = start + int(rng.triangular(-120, 2400, 120))
            left = min(end + rng.randint(0, 600), join + rng.randint(300, end - start + 600))
            if webinar and rng.random() < 0.9:
                built.guest(rng, join, left, ROLE_GUEST, rejoin=rng.random() < 0.08)
            else:
                built.phone(rng, self.seed, join, left)
        built.out.sort(key=lambda s: (s.join_s, s.person_key, s.instanceid))
        return built.out

    # -- recordings ------------------------------------------------------------------------

    def recording(self, inst: Instance, media_start_ms: int, media_end_ms: int, sessions: list[Session]) -> Recording:
        record_id = ids.recording_id(inst.day, inst.seq)
        rng = random.Random(f"{self.seed}:recording:{record_id}")
        rec_start = media_start_ms + rng.randint(5, 120) * 1000
        rec_end = media_end_ms - rng.randint(0, 60) * 1000
        if rec_end <= rec_start + 60_000:
            rec_start, rec_end = media_start_ms, media_end_ms
        hours = rng.uniform(1, 6) if rng.random() < 0.7 else rng.uniform(6, 72)
        done = media_end_ms + int(hours * 3_600_000)
        n_files = rng.choice((1, 1, 1, 2, 3))
        cuts = sorted(rng.sample(range(rec_start + 1, rec_end), n_files - 1)) if n_files > 1 else []
        bounds = [rec_start, *cuts, rec_end]
        files = []
        for k in range(n_files):
            seconds = (bounds[k + 1] - bounds[k]) / 1000
            sharing = 1 if rng.random() < 0.4 else 0
            files.append(RecordFile(
                record_file_id=ids.record_file_id(record_id, k), file_name=f"{inst.subject}_{k + 1}.mp4",
                start_ms=bounds[k], end_ms=bounds[k + 1], size=int(seconds * rng.randint(40_000, 250_000)),
                sharing_state=sharing, allow_download=rng.random() < 0.7,
                required_same_corp=sharing == 1 and rng.random() < 0.5, required_participant=rng.random() < 0.2,
            ))
        names = self.active_by_id
        attendees = sorted({s.userid for s in sessions if s.userid})
        events: list[AccessEvent] = []
        seen: set[tuple[int, int, str]] = set()
        for _ in range(rng.randint(0, 4 + len(attendees))):
            userid = rng.choice(attendees) if attendees and rng.random() < 0.7 else rng.choice(self.active).userid
            horizon = rng.randint(1, 20) * 86_400_000
            when = done + rng.randint(60_000, horizon)
            etype = 1 if rng.random() < 0.2 else 2
            if (etype, when, userid) in seen:
                continue
            seen.add((etype, when, userid))
            if etype == 2:
                f = rng.choice(files)
                length = f.end_ms - f.start_ms
                watched = int(length * rng.uniform(0.05, 1.0))
                events.append(AccessEvent(2, when, userid, names[userid].user_name, f.record_file_id, watched,
                                          f"{watched * 100 / length:.1f}"))
            else:
                events.append(AccessEvent(1, when, userid, names[userid].user_name))
        events.sort(key=lambda e: (e.operate_ms, e.event_type, e.userid))
        return Recording(record_id, inst, rec_start, media_start_ms, media_end_ms, done, 0, files, events)


class _SessionList:
    """Sessions of one meeting under construction.

    A person never has two overlapping sessions on the same device (``instanceid``): a second
    device is always another kind, and a rejoin starts after the cut. Receivers of the webhook
    events rely on that to pair each join with its leave.
    """

    def __init__(self) -> None:
        self.out: list[Session] = []
        self._used: set[tuple[str, int]] = set()

    def add(self, key: str, userid: str, uuid: str, ms_open_id: str, name: str, phone: str, iid: int,
            join_type: int, role: int, enterprise: bool, join: int, left: int) -> None:
        while (key, join) in self._used:
            join += 1
        self._used.add((key, join))
        left = max(left, join + 30)
        self.out.append(Session(key, person_kind(iid, join_type, enterprise), userid, uuid, ms_open_id, name,
                                phone, iid, join_type, role, enterprise, join, left))

    def staff(self, rng: random.Random, user: User, role: int, join: int, left: int, *, rejoin: bool,
              multi: bool) -> None:
        """An enterprise member: maybe cut and back on the same device, maybe a second device too."""
        iid = rng.choice(CLIENT_INSTANCES)
        ms_open_id = token(rng, 20)
        if rejoin and left - join > 600:
            cut = join + rng.randint(120, (left - join) // 2)
            back = cut + rng.randint(20, 300)
            self.add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, join, cut)
            self.add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, back, left)
        else:
            self.add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", iid, 1, role, True, join, left)
        if multi:
            other = 4 if iid != 4 else 1
            j2 = join + rng.randint(30, 600)
            self.add(user.userid, user.userid, user.uuid, ms_open_id, user.user_name, "", other, 1, role, True,
                     j2, max(j2 + 60, left - rng.randint(0, 600)))

    def guest(self, rng: random.Random, join: int, left: int, role: int, *, rejoin: bool) -> None:
        """A person from outside the enterprise, known by a uuid only."""
        uuid = "WX" + token(rng, 16)
        name = rng.choice(("Guest ", "访客", "Lee ", "Kim ")) + token(rng, 3) + (rng.choice(EMOJI) if rng.random() < 0.3 else "")
        ms_open_id = token(rng, 20)
        iid = rng.choice(CLIENT_INSTANCES)
        if rejoin and left - join > 600:
            cut = join + rng.randint(120, (left - join) // 2)
            self.add(uuid, "", uuid, ms_open_id, name, "", iid, 1, role, False, join, cut)
            join = cut + rng.randint(20, 300)
        self.add(uuid, "", uuid, ms_open_id, name, "", iid, 1, role, False, join, left)

    def phone(self, rng: random.Random, seed: int, join: int, left: int) -> None:
        """A phone dial-in: no userid or uuid, known by its ms_open_id; the number is kept hashed."""
        ms_open_id = token(rng, 20)
        number = f"1{rng.randint(30, 99)}****{rng.randint(0, 9999):04d}"
        phone = hashlib.sha256(f"{number}/{seed}/{ms_open_id}".encode()).hexdigest()
        self.add(ms_open_id, "", "", ms_open_id, number, phone, PSTN_INSTANCE, 0, ROLE_MEMBER, False, join, left)
