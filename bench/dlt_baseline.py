"""dlt's ``rest_api`` source against the emulator, landing the same five entities in DuckDB.

Users, ended meetings, participant sessions (a child of each meeting), recordings and recording events
(a child of each recording, both event types). The platform signs every request with AK/SK, so the
source gets a small ``requests`` auth that signs the exact path and query it sends.
"""

from __future__ import annotations

import time
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import AuthConfigBase

from resources.platform_constants import PLATFORM_TIMEZONE
from resources.tencent.signer import new_nonce, sign

DAY_S = 86_400
# Access events are read from a recording's start for this long, like the pipeline's look-back.
EVENTS_WINDOW_S = 29 * DAY_S
ENTITIES = ("users", "meetings", "participant_sessions", "recordings", "recording_events")


@configspec
class AkSkRequestsAuth(AuthConfigBase):
    """The platform's AK/SK signature for ``requests`` (the client dlt uses)."""

    app_id: str = None
    secret_id: str = None
    secret_key: TSecretStrValue = None
    sdk_id: str = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp, nonce = str(int(time.time())), new_nonce()
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        request.headers.update({
            "X-TC-Key": self.secret_id,
            "X-TC-Timestamp": timestamp,
            "X-TC-Nonce": nonce,
            "X-TC-Signature": sign(self.secret_key, request.method or "GET", self.secret_id, nonce, timestamp,
                                   request.path_url, raw),
            "AppId": self.app_id,
            "SdkId": self.sdk_id,
            "X-TC-Registered": "1",
        })
        return request


def _day_bounds(start: date, end: date, tz: str = PLATFORM_TIMEZONE) -> tuple[int, int]:
    zone = ZoneInfo(tz)
    first = datetime.combine(start, dtime.min, zone)
    last = datetime.combine(end + timedelta(days=1), dtime.min, zone)
    return int(first.timestamp()), int(last.timestamp()) - 1


def _meeting_window(item: dict[str, Any]) -> dict[str, Any]:
    # Participants are filtered by join time in seconds; the list gives media times in ms.
    item["window_start_s"] = int(item["start_time"]) // 1000 - 3600
    item["window_end_s"] = int(item["end_time"]) // 1000 + 3600
    item.setdefault("sub_meeting_id", "")
    return item


def _recording_window(item: dict[str, Any]) -> dict[str, Any]:
    item["window_start_s"] = int(item["media_start_time"]) // 1000
    item["window_end_s"] = item["window_start_s"] + EVENTS_WINDOW_S
    return item


def source_config(base_url: str, operator_id: str, start: date, end: date) -> dict[str, Any]:
    lo, hi = _day_bounds(start, end)
    operator = {"operator_id": operator_id, "operator_id_type": 1}
    numbered = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "total_page"}

    def events(event_type: int) -> dict[str, Any]:
        return {
            "name": f"recording_events_{event_type}",
            "table_name": "recording_events",
            "endpoint": {
                "path": "/v1/records/events",
                "params": {**operator, "event_type": event_type, "page_size": 50,
                           "meeting_record_id": "{resources.recordings.meeting_record_id}",
                           "start_time": "{resources.recordings.window_start_s}",
                           "end_time": "{resources.recordings.window_end_s}"},
                "data_selector": "events",
                "paginator": numbered,
            },
            "include_from_parent": ["meeting_record_id"],
        }

    return {
        "client": {"base_url": base_url},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [
            {
                "name": "users",
                "endpoint": {
                    "path": "/v1/corp/users",
                    "params": operator,
                    "data_selector": "users",
                    "paginator": {"type": "offset", "limit": 100, "offset_param": "pos", "limit_param": "page_size",
                                  "total_path": "total_count"},
                },
            },
            {
                "name": "meetings",
                "endpoint": {
                    "path": "/v1/corp/meetings",
                    "params": {**operator, "meeting_state": 1, "start_time": lo, "end_time": hi, "page_size": 20},
                    "data_selector": "meeting_info_list",
                    "paginator": numbered,
                },
                "processing_steps": [{"map": _meeting_window}],
            },
            {
                "name": "participant_sessions",
                "endpoint": {
                    "path": "/v1/meetings/{resources.meetings.meeting_id}/participants",
                    "params": {**operator, "size": 100,
                               "sub_meeting_id": "{resources.meetings.sub_meeting_id}",
                               "start_time": "{resources.meetings.window_start_s}",
                               "end_time": "{resources.meetings.window_end_s}"},
                    "data_selector": "participants",
                    "paginator": {"type": "offset", "limit": 100, "offset_param": "pos", "limit_param": "size",
                                  "total_path": None, "has_more_path": "has_remaining"},
                },
                "include_from_parent": ["meeting_id", "sub_meeting_id"],
            },
            {
                "name": "recordings",
                "endpoint": {
                    "path": "/v1/corp/records",
                    "params": {**operator, "start_time": lo, "end_time": hi, "page_size": 20},
                    "data_selector": "record_meetings",
                    "paginator": numbered,
                },
                "processing_steps": [{"map": _recording_window}],
            },
            events(1),
            events(2),
        ],
    }


def run_dlt(base_url: str, auth: AkSkRequestsAuth, operator_id: str, start: date, end: date,
            workdir: Path) -> dict[str, int]:
    """Run the dlt pipeline into ``workdir``/dlt.duckdb; returns rows landed per entity."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    config = source_config(base_url, operator_id, start, end)
    config["client"]["auth"] = auth
    pipeline = dlt.pipeline(
        pipeline_name="tmeet_dlt_bench",
        pipelines_dir=str(workdir / "dlt-state"),
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name="tmeet",
        progress=None,
    )
    pipeline.run(rest_api_source(config))
    import duckdb

    with duckdb.connect(str(workdir / "dlt.duckdb"), read_only=True) as con:
        return {t: int(con.execute(f"select count(*) from tmeet.{t}").fetchone()[0]) for t in ENTITIES}  # type: ignore[index]
