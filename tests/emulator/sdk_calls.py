"""The official Python SDK's read calls against a live emulator, in AK/SK and OAuth mode.

Each :class:`SdkCall` names one endpoint the SDK models, how to call it with the SDK's own request
class, the SDK model its body must fit, the list inside that must not be empty (so a type check is
never vacuous) and the fields the pipeline reads from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from wemeet_openapi import Client
from wemeet_openapi.core.authenticator import JWTAuthenticator, OAuth2Authenticator
from wemeet_openapi.core.config import Config
from wemeet_openapi.core.constants import DEFAULT_AUTHENTICATOR, DEFAULT_SERIALIZER
from wemeet_openapi.core.xhttp.client import Client as HttpClient
from wemeet_openapi.core.xhttp.request import ApiRequest
from wemeet_openapi.core.xhttp.response import ApiResponse
from wemeet_openapi.service.meetings import api as meetings_api
from wemeet_openapi.service.meetings import model as meetings_model
from wemeet_openapi.service.records import api as records_api
from wemeet_openapi.service.records import model as records_model
from wemeet_openapi.service.user_manager import api as users_api
from wemeet_openapi.service.user_manager import model as users_model

from emulator.enterprise import Enterprise, Instance, Recording
from emulator.enterprise.ids import KIND_SERIES

AKSK = "aksk"
OAUTH = "oauth"
# A user-level OAuth caller under the API reference reading, where an OAuth caller sees only
# meetings created through OAuth apps (docs/platform.md, R7-R10): it calls as a user who
# created such meetings, so its lists are not empty either.
OAUTH_REFERENCE = "oauth-reference"
# operator_id_type values (docs/platform.md, "Conventions"): 1 userid, 2 open_id.
BY_USERID = "1"
BY_OPEN_ID = "2"
DAY_S = 86_400


@dataclass(frozen=True)
class Caller:
    """One authenticated SDK client: the mode, the acting identity and the SDK's authenticator."""

    mode: str
    client: Client
    config: Config
    auth: Callable[..., Any]
    # How this caller names itself: (operator_id, operator_id_type).
    operator: tuple[str, str]

    def options(self) -> list[Callable[..., Any]]:
        return [self.auth]


    def get(self, path: str, params: dict[str, str]) -> ApiResponse:
        """A raw GET through the SDK's HTTP client and signing, for endpoints it has no method for."""
        request = ApiRequest(api_uri=path, authenticators=[self.auth(self.config), DEFAULT_AUTHENTICATOR])
        request.query_params.extend(params.items())
        return self.config.clt.get(request)  # type: ignore[union-attr]


def sdk_config(base_url: str, *, app_id: str = "", sdk_id: str = "", secret_id: str = "",
               secret_key: str = "") -> Config:
    """The SDK's configuration with its host and protocol pointed at ``base_url`` (http://host:port)."""
    protocol, host = base_url.split("://", 1)
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not intercept loopback calls
    http = HttpClient(host=host, protocol=protocol, session=session, serializer=DEFAULT_SERIALIZER)
    return Config(clt=http, app_id=app_id, sdk_id=sdk_id, secret_id=secret_id, secret_key=secret_key)


def _client(config: Config) -> Client:
    return Client(app_id=config.app_id, sdk_id=config.sdk_id, secret_id=config.secret_id,
                  secret_key=config.secret_key, clt=config.clt)


def aksk_caller(base_url: str, app_id: str, sdk_id: str, secret_id: str, secret_key: str, admin: str) -> Caller:
    config = sdk_config(base_url, app_id=app_id, sdk_id=sdk_id, secret_id=secret_id, secret_key=secret_key)
    return Caller(AKSK, _client(config), config, _fresh(lambda: JWTAuthenticator()), (admin, BY_USERID))


def oauth_caller(base_url: str, open_id: str, access_token: str) -> Caller:
    config = sdk_config(base_url)
    auth = _fresh(lambda: OAuth2Authenticator(open_id=open_id, access_token=access_token))
    return Caller(OAUTH, _client(config), config, auth, (open_id, BY_OPEN_ID))


def _fresh(make: Callable[[], Any]) -> Callable[..., Any]:
    # The SDK's authenticators cache their nonce and signature once set; a fresh one per request
    # keeps every call's nonce unique, as the platform's replay check requires.
    def option(cfg: Any) -> Any:
        return make().options_build()(cfg)

    return option


@dataclass(frozen=True)
class Inputs:
    """Ids for which every list below is non-empty under the emulator's world at its frozen clock."""

    user: str
    user_uuid: str
    upcoming_creator: str
    ended: Instance
    recurring: Instance
    recording: Recording
    now_s: int
    # How ``user`` is named where a call takes a type: 1 userid, 2 open_id (an OAuth caller names itself).
    user_type: str = "1"


@dataclass(frozen=True)
class SdkCall:
    endpoint: str
    model: type
    invoke: Callable[[Caller, Inputs], Any]
    # Path of a list that must be non-empty ("a[].b": some item of a has a non-empty b), or None.
    non_empty: str | None
    # Fields the pipeline reads: top-level names, and "list[].name" for items of a list.
    pipeline_reads: tuple[str, ...]
    # Fields the Python model lacks that another Tencent source declares: path -> (type, source).
    extra: dict[str, tuple[type, str]] = field(default_factory=dict)

    def extra_types(self) -> dict[str, type]:
        return {path: kind for path, (kind, _) in self.extra.items()}


def choose_inputs(ent: Enterprise) -> Inputs:
    """Pick a recorded, ended meeting with views and downloads, and a user with upcoming meetings."""
    now_s = ent.now_s()
    recording = next(_well_watched(ent))
    upcoming = ent.upcoming_instances()
    creator = upcoming[0].creator
    recurring = next(i for i in upcoming if i.meeting_type == KIND_SERIES)
    user = ent.user_by_id[recording.instance.creator]
    return Inputs(user=user.userid, user_uuid=user.uuid, upcoming_creator=creator, ended=recording.instance,
                  recurring=recurring, recording=recording, now_s=now_s)


def choose_oauth_created_inputs(ent: Enterprise) -> Inputs:
    """A user who created, through an OAuth app, both a recorded meeting with views and downloads and
    a meeting still to come: under the API reference every list it reads has rows.

    ``user`` is the userid to authorize as; name the caller by its open_id with :func:`named_by`.
    """
    upcoming = [i for i in ent.upcoming_instances() + ent.live_instances() if i.oauth_created]
    creators = {i.creator for i in upcoming}
    recording = next(r for r in _well_watched(ent) if r.instance.oauth_created and r.instance.creator in creators)
    user = ent.user_by_id[recording.instance.creator]
    mine = next(i for i in upcoming if i.creator == user.userid)
    # No recurring series is created through OAuth, so the recurring case has no reference-OAuth row.
    return Inputs(user=user.userid, user_uuid=user.uuid, upcoming_creator=user.userid, ended=recording.instance,
                  recurring=mine, recording=recording, now_s=ent.now_s())


def named_by(inputs: Inputs, open_id: str) -> Inputs:
    """The same inputs, naming their user by the open_id an OAuth caller knows it by (R11)."""
    return replace(inputs, user=open_id, upcoming_creator=open_id, user_type=BY_OPEN_ID)


def _well_watched(ent: Enterprise) -> Iterator[Recording]:
    """Transcoded recordings of the last 30 days with several joins and both views and downloads."""
    now_s = ent.now_s()
    for r in ent.recordings_in((now_s - 30 * DAY_S) * 1000, now_s * 1000):
        events = ent.visible_events(r)
        if (r.state_at(ent.now_ms()) == 3 and r.files and len(ent.prepared(r.instance).sessions or []) > 1
                and {e.event_type for e in events} == {1, 2}
                and any(e.record_file_id == r.files[0].record_file_id for e in events)):
            yield r


def _meetings_by_user(c: Caller, i: Inputs) -> Any:
    req = meetings_api.ApiV1MeetingsGetRequest(userid=i.upcoming_creator, instanceid="1")
    return c.client.meetings_api.v1_meetings_get(request=req, authenticator_options=c.options())


def _meeting_by_code(c: Caller, i: Inputs) -> Any:
    req = meetings_api.ApiV1MeetingsGetRequest(userid=i.user, instanceid="1", meeting_code=i.ended.meeting_code)
    return c.client.meetings_api.v1_meetings_get(request=req, authenticator_options=c.options())


def _meeting_by_id(pick: Callable[[Inputs], Instance]) -> Callable[[Caller, Inputs], Any]:
    def call(c: Caller, i: Inputs) -> Any:
        req = meetings_api.ApiV1MeetingsMeetingIdGetRequest(
            meeting_id=pick(i).meeting_id, operator_id=c.operator[0], operator_id_type=c.operator[1],
            instanceid="1")
        return c.client.meetings_api.v1_meetings_meeting_id_get(request=req, authenticator_options=c.options())

    return call


def _participants(c: Caller, i: Inputs) -> Any:
    sched = i.ended.sched_start
    req = meetings_api.ApiV1MeetingsMeetingIdParticipantsGetRequest(
        meeting_id=i.ended.meeting_id, sub_meeting_id=i.ended.sub_meeting_id or None, userid=i.user,
        pos="0", size="100", start_time=str(sched - DAY_S), end_time=str(sched + DAY_S))
    return c.client.meetings_api.v1_meetings_meeting_id_participants_get(request=req, authenticator_options=c.options())


def _history(c: Caller, i: Inputs) -> Any:
    req = meetings_api.ApiV1HistoryMeetingsUseridGetRequest(
        userid=i.user, page="1", page_size="20", start_time=str(i.ended.sched_start - DAY_S),
        end_time=str(i.ended.sched_start + DAY_S))
    return c.client.meetings_api.v1_history_meetings_userid_get(request=req, authenticator_options=c.options())


def _records(c: Caller, i: Inputs) -> Any:
    start_s = i.recording.media_start_ms // 1000
    req = records_api.ApiV1RecordsGetRequest(
        operator_id=i.user, operator_id_type=i.user_type, start_time=str(start_s - DAY_S),
        end_time=str(start_s + DAY_S), page="1", page_size="20")
    return c.client.records_api.v1_records_get(request=req, authenticator_options=c.options())


def _addresses(c: Caller, i: Inputs) -> Any:
    req = records_api.ApiV1AddressesGetRequest(
        meeting_record_id=i.recording.meeting_record_id, operator_id=c.operator[0], operator_id_type=c.operator[1])
    return c.client.records_api.v1_addresses_get(request=req, authenticator_options=c.options())


def _address(c: Caller, i: Inputs) -> Any:
    req = records_api.ApiV1AddressesRecordFileIdGetRequest(
        record_file_id=i.recording.files[0].record_file_id, operator_id=c.operator[0],
        operator_id_type=c.operator[1])
    return c.client.records_api.v1_addresses_record_file_id_get(request=req, authenticator_options=c.options())


def _access_window(i: Inputs) -> tuple[str, str]:
    start_s = i.recording.media_start_ms // 1000
    return str(start_s), str(min(start_s + 30 * DAY_S, i.now_s))


def _metrics(c: Caller, i: Inputs) -> Any:
    start, end = _access_window(i)
    req = records_api.ApiV1MetricsRecordsGetRequest(
        meeting_record_id=i.recording.meeting_record_id, start_time=start, end_time=end)
    return c.client.records_api.v1_metrics_records_get(request=req, authenticator_options=c.options())


def _events(event_type: str) -> Callable[[Caller, Inputs], Any]:
    def call(c: Caller, i: Inputs) -> Any:
        start, end = _access_window(i)
        req = records_api.ApiV1RecordsEventsGetRequest(
            meeting_record_id=i.recording.meeting_record_id, event_type=event_type, page="1", page_size="50",
            start_time=start, end_time=end)
        return c.client.records_api.v1_records_events_get(request=req, authenticator_options=c.options())

    return call


def _view_details(c: Caller, i: Inputs) -> Any:
    start, end = _access_window(i)
    req = records_api.ApiV1RecordsViewDetailsGetRequest(
        record_file_id=i.recording.files[0].record_file_id, operator_id=c.operator[0],
        operator_id_type=c.operator[1], page="1", page_size="50", start_time=start + "000", end_time=end + "999")
    return c.client.records_api.v1_records_view_details_get(request=req, authenticator_options=c.options())


def _user_detail(c: Caller, i: Inputs) -> Any:
    req = users_api.ApiV1UsersUseridGetRequest(userid=i.user, operator_id=c.operator[0],
                                               operator_id_type=c.operator[1])
    return c.client.user_manager_api.v1_users_userid_get(request=req, authenticator_options=c.options())


def _user_by_uuid(c: Caller, i: Inputs) -> Any:
    req = users_api.ApiV1UsersGetRequest(uuid=i.user_uuid, operator_id=c.operator[0], operator_id_type=c.operator[1])
    return c.client.user_manager_api.v1_users_get(request=req, authenticator_options=c.options())


def _users_list(c: Caller, i: Inputs) -> Any:
    req = users_api.ApiV1UsersListGetRequest(page="1", page_size="20", operator_id=c.operator[0],
                                             operator_id_type=c.operator[1])
    return c.client.user_manager_api.v1_users_list_get(request=req, authenticator_options=c.options())


def _advance_list(c: Caller, i: Inputs) -> Any:
    req = users_api.ApiV1UsersAdvanceListGetRequest(operator_id=c.operator[0], operator_id_type=c.operator[1],
                                                    pos="0", size="100")
    return c.client.user_manager_api.v1_users_advance_list_get(request=req, authenticator_options=c.options())


def _basic_info(c: Caller, i: Inputs) -> Any:
    req = users_api.ApiV1UsersInfoBasicGetRequest(operator_id=c.operator[0], operator_id_type=c.operator[1])
    return c.client.user_manager_api.v1_users_info_basic_get(request=req, authenticator_options=c.options())


_MEETING_ITEM_READS = ("meeting_id", "meeting_code", "subject", "start_time", "end_time", "meeting_type")

CALLS: dict[str, SdkCall] = {
    "GET /v1/meetings?userid": SdkCall(
        "GET /v1/meetings", meetings_model.V1MeetingsGet200Response, _meetings_by_user, "meeting_info_list",
        ("remaining", "next_pos", "next_cursory", "meeting_info_list",
         *(f"meeting_info_list[].{f}" for f in (*_MEETING_ITEM_READS, "status")))),
    "GET /v1/meetings?meeting_code": SdkCall(
        "GET /v1/meetings", meetings_model.V1MeetingsGet200Response, _meeting_by_code, "meeting_info_list", ()),
    "GET /v1/meetings/{meeting_id}": SdkCall(
        "GET /v1/meetings/{meeting_id}", meetings_model.V1MeetingsMeetingIdGet200Response,
        _meeting_by_id(lambda i: i.ended), "meeting_info_list", ()),
    "GET /v1/meetings/{meeting_id} (recurring)": SdkCall(
        "GET /v1/meetings/{meeting_id}", meetings_model.V1MeetingsMeetingIdGet200Response,
        _meeting_by_id(lambda i: i.recurring), "meeting_info_list[].sub_meetings", ()),
    "GET /v1/meetings/{meeting_id}/participants": SdkCall(
        "GET /v1/meetings/{meeting_id}/participants", meetings_model.V1MeetingsMeetingIdParticipantsGet200Response,
        _participants, "participants",
        ("total_count", "has_remaining", "next_pos", "participants",
         *(f"participants[].{f}" for f in ("userid", "uuid", "open_id", "ms_open_id", "phone", "user_name",
                                            "instanceid", "join_type", "user_role", "is_enterprise_user",
                                            "join_time", "left_time"))),
        {"participants[].uuid": (str, "Go SDK V1MeetingsMeetingIdParticipantsGet200ResponseParticipantsInner "
                                      "`json:\"uuid\"` (valid for a single meeting only)")}),
    "GET /v1/history/meetings/{userid}": SdkCall(
        "GET /v1/history/meetings/{userid}", meetings_model.V1HistoryMeetingsUseridGet200Response, _history,
        "meeting_info_list",
        ("total_count", "total_page", "meeting_info_list",
         *(f"meeting_info_list[].{f}" for f in (*_MEETING_ITEM_READS, "sub_meeting_id")))),
    "GET /v1/records": SdkCall(
        "GET /v1/records", records_model.V1RecordsGet200Response, _records, "record_meetings",
        ("total_count", "total_page", "record_meetings",
         *(f"record_meetings[].{f}" for f in ("meeting_record_id", "media_start_time", "meeting_id", "meeting_code",
                                               "subject", "host_user_id", "state", "record_type", "record_files")),
         *(f"record_meetings[].record_files[].{f}" for f in (
             "record_file_id", "record_start_time", "record_end_time", "record_size", "sharing_state",
             "allow_download", "required_same_corp", "required_participant")))),
    "GET /v1/addresses": SdkCall(
        "GET /v1/addresses", records_model.V1AddressesGet200Response, _addresses, "record_files", ()),
    "GET /v1/addresses/{record_file_id}": SdkCall(
        "GET /v1/addresses/{record_file_id}", records_model.V1AddressesRecordFileIdGet200Response, _address, None,
        ()),
    "GET /v1/metrics/records": SdkCall(
        "GET /v1/metrics/records", records_model.V1MetricsRecordsGet200Response, _metrics, "summaries",
        ("summaries", "summaries[].date", "summaries[].view_counts", "summaries[].download_counts"),
        {"summaries[].date": (str, "Python SDK V1MetricsRecordsGet200ResponseSummariesInner renames it var_date "
                                   "and drops its value; Go SDK `json:\"date\"`")}),
    "GET /v1/records/events?event_type=1": SdkCall(
        "GET /v1/records/events", records_model.V1RecordsEventsGet200Response, _events("1"), "events",
        ("total_count", "total_page", "events",
         *(f"events[].{f}" for f in ("operate_time", "event_type", "userid", "user_name", "record_name")))),
    "GET /v1/records/events?event_type=2": SdkCall(
        "GET /v1/records/events", records_model.V1RecordsEventsGet200Response, _events("2"), "events", ()),
    "GET /v1/records/view-details": SdkCall(
        "GET /v1/records/view-details", records_model.V1RecordsViewDetailsGet200Response, _view_details,
        "view_details",
        ("total_count", "total_page", "view_details",
         *(f"view_details[].{f}" for f in ("view_start_time", "view_end_time", "view_time", "total_view_progress",
                                            "userid", "user_name", "record_file_name")))),
    "GET /v1/users/{userid}": SdkCall(
        "GET /v1/users/{userid}", users_model.V1UsersUseridGet200Response, _user_detail, None, ()),
    "GET /v1/users?uuid": SdkCall(
        "GET /v1/users", users_model.V1UsersGet200Response, _user_by_uuid, None, ()),
    "GET /v1/users/list": SdkCall(
        "GET /v1/users/list", users_model.V1UsersListGet200Response, _users_list, "users", ()),
    "GET /v1/users/advance/list": SdkCall(
        "GET /v1/users/advance/list", users_model.V1UsersAdvanceListGet200Response, _advance_list, "users", (),
        {"users[].uuid": (str, "Go SDK V1UsersAdvanceListGet200ResponseUsersInner `json:\"uuid\"`")}),
    "GET /v1/users/info/basic": SdkCall(
        "GET /v1/users/info/basic", users_model.V1UsersInfoBasicGet200Response, _basic_info, None,
        ("username", "status", "enable_ai_account")),
}

# Which (call, mode) pairs are exercised. OAuth: the endpoints a user may call for its own data
# (contract, "Which auth mode reaches which endpoint"); /v1/users/list is AK/SK only (1095/43678)
# and /v1/users/info/basic OAuth only (1095/67432). OAuth under the API reference: the per-user
# lists, meeting by id and by code, participants, records and recording access of a meeting
# created through OAuth; the user directory endpoints list AK/SK alone there (contract E15, E17).
MODES: dict[str, tuple[str, ...]] = {
    "GET /v1/meetings?userid": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/meetings?meeting_code": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/meetings/{meeting_id}": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/meetings/{meeting_id} (recurring)": (AKSK, OAUTH),
    "GET /v1/meetings/{meeting_id}/participants": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/history/meetings/{userid}": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/records": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/addresses": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/addresses/{record_file_id}": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/metrics/records": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/records/events?event_type=1": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/records/events?event_type=2": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/records/view-details": (AKSK, OAUTH, OAUTH_REFERENCE),
    "GET /v1/users/{userid}": (AKSK, OAUTH),
    "GET /v1/users?uuid": (AKSK, OAUTH),
    "GET /v1/users/list": (AKSK,),
    "GET /v1/users/advance/list": (AKSK,),
    "GET /v1/users/info/basic": (OAUTH, OAUTH_REFERENCE),
}

# Endpoints the SDK does not model, with the fields the pipeline reads from each, as documented on
# the API reference page named (cloud.tencent.com/document/product/<page>). A trailing "?"
# marks a field the page documents as present only sometimes (sub_meeting_id: recurring only).
UNMODELLED: dict[str, tuple[str, tuple[str, ...]]] = {
    "GET /v1/corp/meetings?meeting_state=1": ("1095/52492", (
        "total_count", "total_page", "meeting_info_list[].meeting_id", "meeting_info_list[].sub_meeting_id?",
        "meeting_info_list[].meeting_code", "meeting_info_list[].subject", "meeting_info_list[].meeting_type",
        "meeting_info_list[].start_time", "meeting_info_list[].end_time", "meeting_info_list[].userid",
        "meeting_info_list[].userid_type", "meeting_info_list[].nick_name", "meeting_info_list[].participants_num",
        "meeting_info_list[].meeting_duration", "meeting_info_list[].user_meeting_duration")),
    "GET /v1/corp/meetings?meeting_state=2": ("1095/52490", (
        "total_count", "total_page", "meeting_info_list[].meeting_id", "meeting_info_list[].meeting_code",
        "meeting_info_list[].subject", "meeting_info_list[].meeting_type", "meeting_info_list[].start_time",
        "meeting_info_list[].end_time", "meeting_info_list[].userid", "meeting_info_list[].nick_name",
        "meeting_info_list[].meeting_state", "meeting_info_list[].online_member_num")),
    "GET /v1/corp/meetings?meeting_state=3": (
        "1095/52490 (the live page); the upcoming shape is the older Java SDK's QueryCorpPreStartMeetingsRequest", (
        "total_count", "total_page", "meeting_info_list[].meeting_id", "meeting_info_list[].meeting_code",
        "meeting_info_list[].subject", "meeting_info_list[].meeting_type", "meeting_info_list[].start_time",
        "meeting_info_list[].end_time", "meeting_info_list[].userid", "meeting_info_list[].nick_name",
        "meeting_info_list[].meeting_state", "meeting_info_list[].online_member_num")),
    "GET /v1/corp/records": ("1095/53224", (
        "total_count", "total_page", "record_meetings[].meeting_record_id", "record_meetings[].media_start_time",
        "record_meetings[].meeting_id", "record_meetings[].meeting_code", "record_meetings[].subject",
        "record_meetings[].userid", "record_meetings[].state", "record_meetings[].record_type",
        "record_meetings[].record_files[].record_file_id", "record_meetings[].record_files[].record_start_time",
        "record_meetings[].record_files[].record_end_time", "record_meetings[].record_files[].record_size",
        "record_meetings[].record_files[].sharing_state", "record_meetings[].record_files[].allow_download",
        "record_meetings[].record_files[].required_same_corp",
        "record_meetings[].record_files[].required_participant")),
    "GET /v1/corp/users": ("1095/52494", (
        "has_remaining", "next_pos", "users[].userid", "users[].user_name", "users[].email", "users[].phone",
        "users[].area", "users[].status", "users[].role_code", "users[].role_name", "users[].update_time",
        "users[].enable_ai_account", "users[].departments[].department_id", "users[].departments[].department_name",
        "users[].departments[].department_full_name", "users[].departments[].is_main")),
    # 1095/52496 documents the role's users ({users, has_remaining, next_pos}); the role list the
    # pipeline reads is attested only by the older Java SDK (wemeet-restapi-sdk-java).
    "GET /v1/corp/user-roles": ("older Java SDK role list (wemeet-restapi-sdk-java); 1095/52496", (
        "total_count", "total_page", "user_role_list[].role_code", "user_role_list[].role_name",
        "user_role_list[].role_desc", "user_role_list[].role_member_nu")),
}
