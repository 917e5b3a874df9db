"""The synthetic enterprise's records: plain data, no behaviour beyond time-dependent state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

STATUS_LABELS = {0: "disabled", 1: "enabled", 2: "inactive"}
# How a meeting was created: in the Tencent Meeting clients, or through an OAuth app's API call.
# Under the API reference's reading an OAuth caller sees only the latter (docs/platform.md).
CREATED_IN_CLIENT = "client"
CREATED_VIA_OAUTH = "oauth"


@dataclass(slots=True)
class Department:
    department_id: str
    name: str
    full_name: str
    parent_id: str | None


@dataclass(slots=True)
class Role:
    role_code: str
    role_name: str
    role_desc: str


@dataclass(slots=True)
class User:
    index: int
    userid: str
    uuid: str
    user_name: str
    email: str
    phone: str
    area: str
    status: int  # 0 disabled, 1 enabled, 2 inactive
    role_code: str
    departments: list[tuple[str, bool]]  # (department_id, is_main)
    update_time: str  # local "yyyy-MM-dd HH:mm:ss"
    enable_ai_account: bool
    has_pmi: bool


@dataclass(slots=True)
class Session:
    """One join session (参会人次) of one person on one device."""

    person_key: str
    person_kind: str
    userid: str
    uuid: str
    ms_open_id: str
    user_name: str
    phone_hash: str
    instanceid: int
    join_type: int
    user_role: int
    is_enterprise_user: bool
    join_s: int
    left_s: int


@dataclass(slots=True)
class RecordFile:
    record_file_id: str
    file_name: str
    start_ms: int
    end_ms: int
    size: int
    sharing_state: int
    allow_download: bool
    required_same_corp: bool
    required_participant: bool


@dataclass(slots=True)
class AccessEvent:
    """One view (event_type 2, one play of one file) or download (event_type 1)."""

    event_type: int
    operate_ms: int
    userid: str
    user_name: str
    record_file_id: str = ""
    view_ms: int = 0
    progress: str = ""


@dataclass(slots=True)
class Recording:
    meeting_record_id: str
    instance: Instance
    start_ms: int  # exists (state 1) from here
    media_start_ms: int
    media_end_ms: int  # transcoding (state 2) from here
    done_ms: int  # transcoded (state 3) from here
    record_type: int
    files: list[RecordFile]
    events: list[AccessEvent]  # sorted by operate_ms

    def state_at(self, now_ms: int) -> int:
        """0 when it does not exist yet, else 1 recording, 2 transcoding, 3 done."""
        if now_ms < self.start_ms:
            return 0
        if now_ms < self.media_end_ms:
            return 1
        return 2 if now_ms < self.done_ms else 3


@dataclass(slots=True)
class Instance:
    """One scheduled occurrence of a meeting on one local day, and its media room if it was held."""

    meeting_id: str
    sub_meeting_id: str
    meeting_code: str
    subject: str
    meeting_type: int  # 0 one-off (also PMI), 1 recurring, 6 webinar
    quick: bool
    is_pmi: bool
    creator: str
    day: date
    seq: int
    sched_start: int
    sched_end: int
    created_ms: int
    cancelled: bool
    held: bool
    deleted: bool  # hostile fault: deleted after it ended
    has_recording: bool
    # Sessions aimed at by an all-hands or a big webinar; 0 for an ordinary meeting.
    audience: int = 0
    created_via: str = CREATED_IN_CLIENT
    # Filled lazily by the enterprise when first needed.
    sessions: list[Session] | None = None
    media_start_ms: int | None = None
    media_end_ms: int | None = None
    recording: Recording | None = None
    cache: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.meeting_id, self.sub_meeting_id

    @property
    def oauth_created(self) -> bool:
        return self.created_via == CREATED_VIA_OAUTH


@dataclass(slots=True)
class Series:
    """A recurring meeting: one meeting id, one occurrence (sub meeting) per listed day."""

    meeting_id: str
    meeting_code: str
    subject: str
    creator: str
    weekdays: tuple[int, ...]
    start_minute: int
    duration_minutes: int
    cancelled_weekdays: tuple[int, ...]
    attendees: tuple[str, ...]
