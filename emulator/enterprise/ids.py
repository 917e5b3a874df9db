"""Self-describing ids: a meeting, recording or file id encodes where it lives, so lookups need no index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

KIND_ONE_OFF = 0
KIND_SERIES = 1
KIND_WEBINAR = 6
# Codes are unique only within this many consecutive days, far more than any run covers.
CODE_DAY_SPAN = 800


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """Where a meeting id points: one day's list entry, a week's recurring series, or a user's PMI."""

    kind: str  # "day" | "series" | "pmi"
    day: date | None = None
    seq: int = 0


def _mix(a: int, b: int, digits: int) -> int:
    return (a * 104_729 + b * 7_919 + 12_345) % (10**digits)


def day_meeting_id(day: date, kind: int, seq: int) -> str:
    return f"1{day:%Y%m%d}{kind}{seq:05d}{_mix(day.toordinal(), seq, 5):05d}"


def series_meeting_id(monday: date, index: int) -> str:
    return day_meeting_id(monday, KIND_SERIES, index)


def pmi_meeting_id(user_index: int) -> str:
    return f"19{user_index:08d}{_mix(user_index, 7, 10):010d}"


def parse_meeting_id(meeting_id: str) -> MeetingRef | None:
    if len(meeting_id) != 20 or not meeting_id.isdigit() or meeting_id[0] != "1":
        return None
    if meeting_id[1] == "9":
        index = int(meeting_id[2:10])
        return MeetingRef("pmi", None, index) if pmi_meeting_id(index) == meeting_id else None
    try:
        day = date(int(meeting_id[1:5]), int(meeting_id[5:7]), int(meeting_id[7:9]))
    except ValueError:
        return None
    kind, seq = int(meeting_id[9]), int(meeting_id[10:15])
    if day_meeting_id(day, kind, seq) != meeting_id:
        return None
    return MeetingRef("series" if kind == KIND_SERIES else "day", day, seq)


def day_meeting_code(day: date, seq: int) -> str:
    return f"{100 + day.toordinal() % CODE_DAY_SPAN}{seq:06d}"


def series_meeting_code(monday: date, index: int) -> str:
    return f"{100 + monday.toordinal() % CODE_DAY_SPAN}{900_000 + index:06d}"


def pmi_meeting_code(user_index: int) -> str:
    return f"9{user_index:08d}"


def recording_id(day: date, seq: int) -> str:
    return f"2{day:%Y%m%d}{seq:06d}0000"


def record_file_id(meeting_record_id: str, index: int) -> str:
    return f"{meeting_record_id[:-4]}{index + 1:04d}"


def parse_recording_id(value: str) -> tuple[date, int, int] | None:
    """(day, instance seq, file number) — file number 0 means the recording itself."""
    if len(value) != 19 or not value.isdigit() or value[0] != "2":
        return None
    try:
        day = date(int(value[1:5]), int(value[5:7]), int(value[7:9]))
    except ValueError:
        return None
    return day, int(value[9:15]), int(value[15:19])
