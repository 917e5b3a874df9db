"""AK/SK signatures: the documented test vectors (docs/platform.md, "AK/SK signing") and the server's checks over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from emulator.apps import App
from emulator.signing import NonceCache, sign, signed_headers
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.edge_fakes import SUPER_ADMIN, fake_world

VECTOR_ID = "AKIDexampleSecretId0001"
VECTOR_KEY = "exampleSecretKey0001"


def test_contract_vector_get() -> None:
    target = "/v1/meetings/7567173273889276131?operator_id=tester1&operator_id_type=1&instanceid=1"
    assert (
        sign(VECTOR_KEY, "GET", VECTOR_ID, "12345678", "1700000000", target, b"")
        == "YWU1YWZiNmE2ZWQyZmEwYjNiZTJlZmRhZmNjYTY2YWQxMzY1ZWRhZmIzYjA1MWJlMWQ5OWEwOWRjMDBkOGEyZA=="
    )


def test_contract_vector_post_with_body() -> None:
    body = (
        '{"userid":"tester1","instanceid":1,"subject":"test","type":0,'
        '"start_time":"1700003600","end_time":"1700007200"}'
    )
    assert (
        sign(VECTOR_KEY, "POST", VECTOR_ID, "12345678", "1700000000", "/v1/meetings", body)
        == "ZDM0NjNlODVmODNlYzZiMmRhY2U0OThlMzg4OTc1OWNhYjFkZWFjMzk2MTFiNTZmZTBkYTY2ZmYyNmExNzdjNw=="
    )


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with running_emulator(**fake_world(rate_limit="off")) as handle:
        yield handle


def _get(emu: EmulatorHandle, target: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(emu.base_url + target, headers=headers, trust_env=False)


def _error(response: httpx.Response) -> int:
    return int(response.json()["error_info"]["error_code"])


def test_signed_request_reaches_the_handler_as_the_admin(emu: EmulatorHandle) -> None:
    target = "/v1/history/meetings/alice?page=1&page_size=20"
    response = _get(emu, target, signed_headers(emu.default_app, "GET", target))
    assert response.status_code == 200
    assert response.json()["userid"] == SUPER_ADMIN
    assert response.json()["mode"] == "aksk"


def test_signature_covers_the_raw_query_exactly_as_sent(emu: EmulatorHandle) -> None:
    raw = "/v1/history/meetings/alice?userid=123%2B123&page=1"
    ok = _get(emu, raw, signed_headers(emu.default_app, "GET", raw))
    assert ok.status_code == 200
    decoded = "/v1/history/meetings/alice?userid=123+123&page=1"
    bad = _get(emu, raw, signed_headers(emu.default_app, "GET", decoded))
    assert (bad.status_code, _error(bad)) == (400, 200003)
    assert bad.json()["error_info"]["message"] == "Signature failed!"


def test_wrong_secret_key_fails_the_signature(emu: EmulatorHandle) -> None:
    target = "/v1/records?page=1"
    forged = App(**_fields(emu.default_app, secret_key="not-the-key"))
    response = _get(emu, target, signed_headers(forged, "GET", target))
    assert (response.status_code, _error(response)) == (400, 200003)


def _fields(app: App, **changes: str) -> dict[str, object]:
    data = {name: getattr(app, name) for name in App.__slots__}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes",
    [{"secret_id": "AKIDunknown"}, {"app_id": "999"}, {"sdk_id": "123"}],
    ids=["unknown key", "AppId mismatch", "SdkId mismatch"],
)
def test_unknown_credentials_are_190303(emu: EmulatorHandle, changes: dict[str, str]) -> None:
    target = "/v1/records"
    app = App(**_fields(emu.default_app, **changes))
    response = _get(emu, target, signed_headers(app, "GET", target))
    assert _error(response) == 190303
    assert response.json()["error_info"]["new_error_code"] == 200190303


def test_clock_skew_over_five_minutes_is_190300(emu: EmulatorHandle) -> None:
    target = "/v1/records"
    stale = signed_headers(emu.default_app, "GET", target, timestamp=int(time.time()) - 301)
    assert _error(_get(emu, target, stale)) == 190300
    fine = signed_headers(emu.default_app, "GET", target, timestamp=int(time.time()) - 290)
    assert _get(emu, target, fine).status_code == 200


def test_replayed_timestamp_and_nonce_is_190301(emu: EmulatorHandle) -> None:
    target = "/v1/records?page=2"
    headers = signed_headers(emu.default_app, "GET", target, nonce="424242")
    assert _get(emu, target, headers).status_code == 200
    replay = _get(emu, target, headers)
    assert (replay.status_code, _error(replay)) == (400, 190301)


def test_signature_failure_status_is_configurable() -> None:
    with running_emulator(**fake_world(signature_http_status=500)) as emu:
        target = "/v1/records"
        headers = signed_headers(emu.default_app, "GET", target)
        headers["X-TC-Signature"] = headers["X-TC-Signature"][::-1]
        response = _get(emu, target, headers)
        assert (response.status_code, _error(response)) == (500, 200003)


def test_nonce_cache_is_bounded() -> None:
    cache = NonceCache(window=300, max_entries=3)
    for n in range(5):
        assert not cache.seen_before(("k", "1", str(n)))
    assert cache.seen_before(("k", "1", "4"))
    # The oldest entries were evicted to keep the cache at its bound.
    assert not cache.seen_before(("k", "1", "0"))
