"""The PII policy as a pure function on frames."""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pytest

from assets.normalize.pii import PiiPolicy, PiiPolicyError, apply_pii_policy, parse_pii_policy

SALT = b"0123456789abcdef0123456789abcdef"


def _frame() -> pd.DataFrame:
    text = pd.StringDtype()
    return pd.DataFrame(
        {
            "userid": pd.Series(["u1", "u2"], dtype=text),
            "user_name": pd.Series(["Alice", None], dtype=text),
            "email": pd.Series(["alice@example.com", "bob@example.com"], dtype=text),
            "phone": pd.Series(["138****0001", None], dtype=text),
        }
    )


def test_keep_everything_returns_the_frame_untouched() -> None:
    frame = _frame()
    assert apply_pii_policy("users", frame, PiiPolicy()) is frame
    assert apply_pii_policy("users", frame, PiiPolicy(parse_pii_policy("email=keep"))) is frame


def test_hash_is_hmac_sha256_and_drop_is_null_with_the_same_dtype() -> None:
    frame = _frame()
    out = apply_pii_policy("users", frame, PiiPolicy(parse_pii_policy("email=hash, phone=drop"), salt=SALT))
    assert list(out["email"]) == [hmac.new(SALT, e.encode(), hashlib.sha256).hexdigest() for e in frame["email"]]
    assert out["phone"].isna().all() and out["phone"].dtype == frame["phone"].dtype
    assert out["user_name"].equals(frame["user_name"]) and out["userid"].equals(frame["userid"])
    assert frame["email"].iloc[0] == "alice@example.com"  # the input frame is not modified


def test_json_records_are_scrubbed_by_api_field_name() -> None:
    record = {"userid": "u1", "email": "alice@example.com", "nested": [{"phone": "138****0001", "username": "A"}]}
    frame = pd.DataFrame({"record_json": pd.Series([json.dumps(record), "not json"], dtype=pd.StringDtype())})
    policy = PiiPolicy(parse_pii_policy("email=hash,phone_hash=drop,user_name=hash"), salt=SALT)
    out = apply_pii_policy("quarantine", frame, policy)
    scrubbed = json.loads(out["record_json"].iloc[0])
    assert scrubbed["email"] == hmac.new(SALT, b"alice@example.com", hashlib.sha256).hexdigest()
    assert scrubbed["nested"] == [{"username": hmac.new(SALT, b"A", hashlib.sha256).hexdigest()}]
    assert out["record_json"].iloc[1] == "not json"


@pytest.mark.parametrize("text", ["mail=hash", "email=encrypt", "email", "ip=drop"])
def test_bad_policies_name_the_choices(text: str) -> None:
    with pytest.raises(PiiPolicyError, match="columns are user_name, creator_name, email"):
        parse_pii_policy(text)


def test_hashing_without_a_salt_is_refused() -> None:
    with pytest.raises(PiiPolicyError, match="salt"):
        PiiPolicy({"email": "hash"})
