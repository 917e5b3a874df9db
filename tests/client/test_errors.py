from __future__ import annotations

import json

import pytest

from resources.tencent import errors as e


def body(code: int, message: str = "m") -> bytes:
    return json.dumps({"error_info": {"error_code": code, "new_error_code": 200000000 + code, "message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, 41, e.RetryableError),
        (500, 960000, e.RetryableError),
        (500, 5108, e.RetryableError),
        (500, 190310, e.QuotaWait),
        (400, 190310, e.QuotaWait),
        (500, 190313, e.QuotaWait),
        (500, 9061, e.QuotaWait),
        (500, 190311, e.QuotaExhausted),
        (400, 190303, e.AuthError),
        (403, 9042, e.PermissionDenied),
        (400, 500014, e.PermissionDenied),
        (500, 403, e.PermissionDenied),
        (500, 9003, e.ResourceGone),
        (400, 190457, e.ResourceGone),
        (500, 4051, e.ResourceGone),
        (500, 4049, e.ResourceGone),
        (500, 500277, e.ResourceGone),
        (400, 20001, e.ResourceGone),
        (400, 190004, e.BadRequest),
        (400, 123456, e.ApiError),
    ],
)
def test_classified_on_error_code_not_status(status: int, code: int, kind: type) -> None:
    _, err = e.classify(status, body(code), endpoint="GET /v1/x")
    assert type(err) is kind
    assert err.code == code and "GET /v1/x" in str(err)


def test_success_and_truncated_bodies() -> None:
    ok, err = e.classify(200, b'{"a": 1}', endpoint="GET /v1/x")
    assert ok == {"a": 1} and err is None
    _, err = e.classify(200, b'{"total_count":', endpoint="GET /v1/x")
    assert isinstance(err, e.RetryableError)
    _, err = e.classify(502, b"<html>bad gateway</html>", endpoint="GET /v1/x")
    assert isinstance(err, e.RetryableError)


def test_quota_exhausted_says_when_to_resume() -> None:
    _, err = e.classify(500, body(190311), endpoint="GET /v1/x")
    assert isinstance(err, e.QuotaExhausted)
    assert "resume after" in str(err) and err.resume_at.hour == 0


def test_permission_names_scope_and_messages_are_scrubbed() -> None:
    from resources.tencent.redact import register_secret

    register_secret("CANARYtok-9f8e7d")
    _, err = e.classify(403, body(9042, "token CANARYtok-9f8e7d denied"), endpoint="GET /v1/corp/users",
                        missing_scope="VIEW_ALL_USERS")
    assert isinstance(err, e.PermissionDenied)
    assert "VIEW_ALL_USERS" in str(err) and "CANARYtok-9f8e7d" not in str(err)
