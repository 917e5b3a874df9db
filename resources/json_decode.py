"""Decoding JSON bodies and archive lines: every page of a sync or a rebuild passes through here."""

from __future__ import annotations

import json
from typing import Any

import orjson


def decode_json(raw: bytes | str) -> Any:
    """Decode with orjson, falling back to the standard library for the few documents orjson
    refuses (NaN literals, integers wider than 64 bits), so what decodes is what decoded before."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
