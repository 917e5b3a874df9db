from __future__ import annotations

import httpx
from pydantic import SecretStr

from resources.tencent.signer import AkSkAuth, sign

SECRET_ID = "AKIDexampleSecretId0001"
SECRET_KEY = "exampleSecretKey0001"


def test_get_vector() -> None:
    uri = "/v1/meetings/7567173273889276131?operator_id=tester1&operator_id_type=1&instanceid=1"
    assert sign(SECRET_KEY, "GET", SECRET_ID, "12345678", "1700000000", uri, b"") == (
        "YWU1YWZiNmE2ZWQyZmEwYjNiZTJlZmRhZmNjYTY2YWQxMzY1ZWRhZmIzYjA1MWJlMWQ5OWEwOWRjMDBkOGEyZA=="
    )


def test_post_vector() -> None:
    body = (
        b'{"userid":"tester1","instanceid":1,"subject":"test","type":0,'
        b'"start_time":"1700003600","end_time":"1700007200"}'
    )
    assert sign(SECRET_KEY, "POST", SECRET_ID, "12345678", "1700000000", "/v1/meetings", body) == (
        "ZDM0NjNlODVmODNlYzZiMmRhY2U0OThlMzg4OTc1OWNhYjFkZWFjMzk2MTFiNTZmZTBkYTY2ZmYyNmExNzdjNw=="
    )


def test_auth_signs_raw_query_as_sent_and_renews_nonce_per_attempt() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    auth = AkSkAuth("app1", SECRET_ID, SecretStr(SECRET_KEY), clock=lambda: 1700000000)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for _ in range(2):
            client.get("https://api.meeting.qq.com/v1/users/a%2Bb", params={"q": "x y"}, auth=auth)
    first, second = seen
    assert first.headers["X-TC-Nonce"] != second.headers["X-TC-Nonce"]
    uri = first.url.raw_path.decode()
    assert uri == "/v1/users/a%2Bb?q=x+y"
    expected = sign(SECRET_KEY, "GET", SECRET_ID, first.headers["X-TC-Nonce"], "1700000000", uri, b"")
    assert first.headers["X-TC-Signature"] == expected
    assert first.headers["AppId"] == "app1" and first.headers["X-TC-Registered"] == "1"
    assert "SdkId" not in first.headers
