"""The emulator's responses against Tencent's official Python SDK (wemeet-openapi-sdk-python).

The SDK's own client signs (AK/SK ``JWTAuthenticator``) or carries the token (``OAuth2Authenticator``)
over loopback, so authentication is Tencent's code, not ours. Every body must deserialize into the
SDK's response model, every JSON value must have the type the model declares, and every field the
pipeline reads must be one the model declares.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from wemeet_openapi.service.meetings import api as meetings_api
from wemeet_openapi.service.meetings import model as meetings_model
from wemeet_openapi.service.records import api as records_api
from wemeet_openapi.service.records import model as records_model

from emulator.apps import DEMO_REDIRECT_URIS
from emulator.oauth import OAUTH_PREFIX
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.sdk_calls import (
    AKSK, CALLS, MODES, OAUTH, OAUTH_REFERENCE, UNMODELLED, Caller, Inputs, aksk_caller, choose_inputs,
    choose_oauth_created_inputs, named_by, oauth_caller,
)
from tests.emulator.sdk_shapes import check, declared_fields, is_model

NOW = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)
USER_APP, USER_SECRET = "300000077", "conformance-user-secret-77"
CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    # Shapes do not depend on the reading; under the scope-table reading an OAuth caller reaches every
    # list, so no OAuth response is empty and every type check has values to check.
    with running_emulator(scale="small", now=NOW, rate_limit="off", platform="scope-table") as handle:
        yield handle


@pytest.fixture(scope="module")
def reference_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """The same world under the API reference, with a user-level app whose users authorize it."""
    apps = tmp_path_factory.mktemp("apps") / "apps.json"
    apps.write_text(json.dumps({"apps": [{
        "sdk_id": USER_APP, "secret": USER_SECRET, "type": "user", "corp_id": "conformance-corp",
        "redirect_uris": [CALLBACK], "scopes": ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"], "activated": True,
    }]}), encoding="utf-8")
    with running_emulator(scale="small", now=NOW, rate_limit="off", platform="api-reference",
                          apps_path=str(apps)) as handle:
        yield handle


def _token(emu: EmulatorHandle, sdk_id: str, secret: str, redirect: str, login_userid: str | None = None
           ) -> dict[str, Any]:
    """A token from the emulator's own OAuth flow: authorize, then exchange the code."""
    code = emu.authorize(sdk_id, redirect, "sdkconformance", login_userid=login_userid)
    response = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token", trust_env=False, timeout=30,
                          json={"sdk_id": sdk_id, "secret": secret, "auth_code": code})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def setup(emu: EmulatorHandle, reference_emu: EmulatorHandle) -> dict[str, tuple[Caller, Inputs]]:
    """Per mode: the SDK caller and the ids it asks about."""
    app = emu.default_app
    assert app.app_id and app.secret_id and app.secret_key
    token = _token(emu, app.sdk_id, app.secret, DEMO_REDIRECT_URIS[0])
    inputs = choose_inputs(emu.enterprise)
    # A user who created meetings through OAuth authorizes the user-level app and names itself by open_id.
    created = choose_oauth_created_inputs(reference_emu.enterprise)
    user_token = _token(reference_emu, USER_APP, USER_SECRET, CALLBACK, login_userid=created.user)
    return {
        AKSK: (aksk_caller(emu.base_url, app.app_id, app.sdk_id, app.secret_id, app.secret_key,
                           emu.enterprise.super_admin), inputs),
        OAUTH: (oauth_caller(emu.base_url, token["open_id"], token["access_token"]), inputs),
        OAUTH_REFERENCE: (oauth_caller(reference_emu.base_url, user_token["open_id"], user_token["access_token"]),
                          named_by(created, user_token["open_id"])),
    }


@pytest.fixture(scope="module")
def callers(setup: dict[str, tuple[Caller, Inputs]]) -> dict[str, Caller]:
    return {mode: caller for mode, (caller, _) in setup.items()}


@pytest.fixture(scope="module")
def inputs(setup: dict[str, tuple[Caller, Inputs]]) -> Inputs:
    return setup[AKSK][1]


PAIRS = [(name, mode) for name, modes in MODES.items() for mode in modes]


def test_every_modelled_call_has_a_mode_table_entry() -> None:
    assert set(MODES) == set(CALLS)


@pytest.mark.parametrize(("name", "mode"), PAIRS, ids=[f"{mode}:{name}" for name, mode in PAIRS])
def test_response_fits_the_sdk_model(name: str, mode: str, setup: dict[str, tuple[Caller, Inputs]]) -> None:
    call = CALLS[name]
    caller, inputs = setup[mode]
    # The SDK raises ServiceException on a refused call (HTTP >= 300): authentication must pass.
    response = call.invoke(caller, inputs)
    assert response.status_code == 200
    assert isinstance(response.data, call.model), f"{name}: the SDK did not build {call.model.__name__}"
    raw = json.loads(response.raw_body)
    if call.non_empty is not None:
        assert any(_values_at(raw, call.non_empty)), f"{name} ({mode}): {call.non_empty} is empty, so the type check proves nothing"
    report = check(call.model, raw, call.extra_types())
    assert report.mismatches == [], f"{name} ({mode}): JSON types differ from {call.model.__name__}:\n" + "\n".join(
        report.mismatches)
    assert report.undeclared == [], f"{name} ({mode}): {call.model.__name__} declares no {report.undeclared}"
    absent = [path for path in call.pipeline_reads if not _present(raw, path)]
    assert absent == [], f"{name} ({mode}): the pipeline reads {absent}, which the emulator did not send"


@pytest.mark.parametrize("name", [n for n, c in CALLS.items() if c.pipeline_reads])
def test_fields_the_pipeline_reads_are_declared_by_the_sdk(name: str) -> None:
    call = CALLS[name]
    missing = [path for path in call.pipeline_reads if path not in call.extra and not _declares(call.model, path)]
    assert missing == [], f"{name}: {call.model.__name__} does not declare {missing}"


@pytest.mark.parametrize("name", list(UNMODELLED))
def test_unmodelled_corp_endpoints_carry_the_documented_fields(
    name: str, callers: dict[str, Caller], inputs: Inputs
) -> None:
    """The SDK has no /v1/corp/* model: hold the emulator to the fields the reference page documents."""
    source, fields = UNMODELLED[name]
    path, _, query = name.removeprefix("GET ").partition("?")
    params = {"operator_id": callers[AKSK].operator[0], "operator_id_type": "1"}
    if path == "/v1/corp/meetings":
        state = query.split("=")[1]
        params.update(meeting_state=state, page="1", page_size="20")
        if state == "1":
            params.update(start_time=str(inputs.now_s - 3 * 86_400), end_time=str(inputs.now_s))
    elif path == "/v1/corp/records":
        params.update(start_time=str(inputs.now_s - 7 * 86_400), end_time=str(inputs.now_s), page="1",
                      page_size="20")
    elif path == "/v1/corp/users":
        params.update(page_size="20")
    response = callers[AKSK].get(path, params)
    assert response.status_code == 200, response.raw_body
    body = json.loads(response.raw_body)
    absent = [f for f in fields if not f.endswith("?") and not _present(body, f)]
    assert absent == [], f"{name} lacks {absent} (reference: {source})"


def _declares(model: type, path: str) -> bool:
    hint: Any = model
    for part in path.split("."):
        name = part.removesuffix("[]")
        fields = declared_fields(_unwrap(hint))
        if name not in fields:
            return False
        hint = fields[name]
    return True


def _unwrap(hint: Any) -> type:
    """The SDK model inside ``Optional[...]`` / ``List[...]``."""
    while not is_model(hint):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if not args:
            raise AssertionError(f"{hint!r} leads to no SDK model")
        hint = args[0]
    return hint  # type: ignore[no-any-return]


def _parents(body: Any, path: str) -> tuple[list[Any], str]:
    """The objects ``path`` leads to before its last part, and that part.

    A list on the way may be absent from some items (a recording still transcoding has no files).
    """
    *parents, last = path.split(".")
    nodes = [body]
    for part in parents:
        name = part.removesuffix("[]")
        values = [node[name] for node in nodes if isinstance(node, dict) and node.get(name) is not None]
        nodes = [item for value in values for item in value] if part.endswith("[]") else values
    return nodes, last


def _present(body: Any, path: str) -> bool:
    """Whether every object reached by ``path`` carries its last field, and at least one is reached."""
    nodes, last = _parents(body, path)
    return bool(nodes) and all(isinstance(node, dict) and last in node for node in nodes)


def _values_at(body: Any, path: str) -> list[Any]:
    nodes, last = _parents(body, path)
    return [node.get(last) for node in nodes if isinstance(node, dict)]


def test_types_hold_across_every_meeting_of_recent_days(callers: dict[str, Caller], emu: EmulatorHandle) -> None:
    """One sample per endpoint can miss a rarer shape (webinar, PSTN caller, Rooms, recurring, still
    transcoding): check the detail, participants and recordings of every meeting held in the last days."""
    caller = callers[AKSK]
    ent = emu.enterprise
    now_s = ent.now_s()
    ended = ent.ended_instances((now_s - 2 * 86_400) * 1000, now_s * 1000)
    assert ended
    extra = CALLS["GET /v1/meetings/{meeting_id}/participants"].extra_types()
    problems: list[str] = []
    participant_rows = 0
    for inst in ended:
        detail = caller.client.meetings_api.v1_meetings_meeting_id_get(
            request=meetings_api.ApiV1MeetingsMeetingIdGetRequest(
                meeting_id=inst.meeting_id, operator_id=caller.operator[0], operator_id_type=caller.operator[1],
                instanceid="1"),
            authenticator_options=caller.options())
        problems += check(meetings_model.V1MeetingsMeetingIdGet200Response, json.loads(detail.raw_body)).mismatches
        pos = "0"
        while True:
            page = caller.client.meetings_api.v1_meetings_meeting_id_participants_get(
                request=meetings_api.ApiV1MeetingsMeetingIdParticipantsGetRequest(
                    meeting_id=inst.meeting_id, sub_meeting_id=inst.sub_meeting_id or None, userid=inst.creator,
                    pos=pos, size="100", start_time=str(inst.sched_start - 86_400),
                    end_time=str(inst.sched_start + 86_400)),
                authenticator_options=caller.options())
            raw = json.loads(page.raw_body)
            participant_rows += len(raw.get("participants") or [])
            problems += check(meetings_model.V1MeetingsMeetingIdParticipantsGet200Response, raw, extra).mismatches
            if not raw.get("has_remaining"):
                break
            pos = str(raw["next_pos"])
    recordings = 0
    for creator in sorted({i.creator for i in ended if i.has_recording}):
        records = caller.client.records_api.v1_records_get(
            request=records_api.ApiV1RecordsGetRequest(
                operator_id=creator, operator_id_type="1", start_time=str(now_s - 3 * 86_400),
                end_time=str(now_s), page="1", page_size="20"),
            authenticator_options=caller.options())
        raw = json.loads(records.raw_body)
        recordings += len(raw.get("record_meetings") or [])
        problems += check(records_model.V1RecordsGet200Response, raw).mismatches
    # The sweep is only worth something if it met the rarer shapes.
    assert {i.meeting_type for i in ended} >= {0, 1, 6} and any(i.sub_meeting_id for i in ended)
    assert participant_rows > 0 and recordings > 0
    assert problems == [], "\n".join(problems)
