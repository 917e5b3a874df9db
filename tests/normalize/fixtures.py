"""Raw API records in the documented shapes (docs/platform.md, "Shapes and quirks", "Webhooks"), extended with the quirks."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from typing import Any

UTC = dt.timezone.utc
MEETING_ID = "13339451618278424869"  # 20 digits: more than int64 holds
# 1700000000 s = 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 in Asia/Shanghai.
T0 = 1700000000
# 2023-11-15 00:00:00 Asia/Shanghai = 2023-11-14 16:00:00 UTC.
SHANGHAI_MIDNIGHT_15 = 1699977600


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


CORP_USER: dict[str, Any] = {
    "userid": "alice", "user_name": "Alice", "area": "86", "phone": "138****0000",
    "email": "alice@example.com", "avatar_url": "https://...", "update_time": "2023-11-01 10:00:00",
    "role_name": "超级管理员", "role_code": "<opaque>", "status": 1,
    "departments": [{"department_id": "1", "department_name": "R&D",
                     "department_full_name": "R&D/Platform", "is_main": True}],
    "enable_ai_account": False,
}

ROLE: dict[str, Any] = {"role_code": "r-admin", "role_name": "管理员", "role_desc": "Admins", "role_member_nu": 3}

CORP_ENDED_MEETING: dict[str, Any] = {
    "meeting_id": MEETING_ID,
    "meeting_code": "445999969",
    "subject": "Weekly sync",
    "userid": "alice",
    "userid_type": 1,
    "nick_name": "Alice",
    "meeting_type": 0,
    "sub_meeting_id": "",
    "start_time": 1700000012000,
    "end_time": 1700003590000,
    "participants_num": 3,
    "meeting_duration": "3578000",
    "user_meeting_duration": "7000000",
}

USER_ENDED_MEETING: dict[str, Any] = {
    "meeting_id": MEETING_ID,
    "meeting_code": "445999969",
    "subject": "Weekly sync",
    "sub_meeting_id": "",
    "meeting_type": 0,
    "start_time": 1700000000,
    "end_time": 1700003600,
}

PARTICIPANT: dict[str, Any] = {
    "userid": "alice",
    "open_id": "",
    "uuid": "WMfgHRYj6m36mcDGtK",
    "ms_open_id": "ms-1a2b3c",
    "user_name": "QWxpY2U=",
    "phone": "9f86d081884c7d659a2feaa0c55ad015",
    "instanceid": 1,
    "join_type": 1,
    "user_role": 3,
    "webinar_member_role": 0,
    "is_enterprise_user": True,
    "join_time": "1700000012",
    "left_time": "1700003590",
    "audio_state": True,
    "video_state": False,
    "screen_shared_state": False,
    "customer_data": "",
    "app_version": "", "ip": "", "location": "", "link_type": "", "net": "",
}


def participant(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(PARTICIPANT)
    record.update(changes)
    return record


RECORDING: dict[str, Any] = {
    "meeting_record_id": "1354331232099323242",
    "meeting_id": MEETING_ID,
    "meeting_code": "445999969",
    "host_user_id": "alice",
    "media_start_time": 1700000012000,
    "subject": "Weekly sync",
    "state": 3,
    "record_type": 0,
    "media_set_type": 1,
    "record_files": [{
        "record_file_id": "1354331232099323243",
        "record_start_time": 1700000020000,
        "record_end_time": 1700003500000,
        "record_size": 123456789,
        "sharing_state": 0,
        "sharing_url": "", "password": "", "sharing_expire": 0,
        "required_same_corp": False, "required_participant": False, "allow_download": True,
    }],
}

METRIC: dict[str, Any] = {"date": "2023-11-15", "view_counts": 12, "download_counts": 1}
RECORD_EVENT: dict[str, Any] = {
    "operate_time": 1700001000123, "event_type": 2, "userid": "bob", "user_name": "Bob", "record_name": "Weekly sync",
}
VIEW_DETAIL: dict[str, Any] = {
    "userid": "bob", "user_name": "Bob", "record_file_name": "Weekly sync.mp4",
    "view_start_time": 1700001000123, "view_end_time": 1700001600123, "view_time": 540500,
    "total_view_progress": "90%",
}

LIVE_CORP: dict[str, Any] = {
    "meeting_id": MEETING_ID, "meeting_code": "445999969", "subject": "Weekly sync", "userid": "alice",
    "userid_type": 1, "nick_name": "Alice", "start_time": 1700000000, "end_time": 1700003600,
    "online_member_num": 4, "meeting_state": 2, "meeting_type": 0,
}

USER_MEETING_INFO: dict[str, Any] = {
    "meeting_id": MEETING_ID, "meeting_code": "445999969", "subject": "Weekly sync", "type": 0,
    "meeting_type": 0, "status": "MEETING_STATE_INIT", "start_time": "1700000000", "end_time": "1700003600",
    "hosts": [{"userid": "alice"}], "password": "secret", "join_url": "https://meeting.tencent.com/dm/xxxx",
    "join_meeting_role": "creator",
}


def webhook_event(event: str, operate_time: int, *, trace_id: str, userid: str = "tester",
                  instance_id: str = "2", uuid: str = "WMfgHRYj6m36mcDGtK",
                  ms_open_id: str = "WMfgHRYj6m36mcDGtK", sub_meeting_id: str | None = None) -> dict[str, Any]:
    meeting_info: dict[str, Any] = {
        "meeting_id": MEETING_ID, "meeting_code": "445999969", "subject": "Weekly sync",
        "creator": {"userid": "tester-2", "open_id": "x", "uuid": "y", "ms_open_id": "z",
                    "user_name": "creator", "instance_id": "2"},
        "meeting_type": 0, "start_time": 1608522626, "end_time": 1609415039,
        "meeting_create_mode": 0, "meeting_create_from": 1, "meeting_id_type": 0, "action_scene_type": 0,
    }
    if sub_meeting_id is not None:
        meeting_info["sub_meeting_id"] = sub_meeting_id
    return {
        "event": event,
        "trace_id": trace_id,
        "payload": [{
            "operate_time": operate_time,
            "operator": {"userid": userid, "open_id": "KM4Ss", "uuid": uuid, "ms_open_id": ms_open_id,
                         "user_name": "tester_name", "pstn_number": "0086123888", "instance_id": instance_id},
            "meeting_info": meeting_info,
            "extend_info": {"customer_data": "..."},
        }],
    }
