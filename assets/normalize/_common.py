"""Settings every normalizer shares, and the names the assets and older callers import from here.

The conversions themselves live by concern: :mod:`~assets.normalize.parsers`,
:mod:`~assets.normalize.times`, :mod:`~assets.normalize.records`, :mod:`~assets.normalize.identity`,
:mod:`~assets.normalize.quarantine`, :mod:`~assets.normalize.frames` and the field-table
:mod:`~assets.normalize.engine` that combines them.
"""

from __future__ import annotations

from assets.normalize.frames import (
    Normalized,
    apply_map,
    empty,
    empty_as,
    fill,
    finish,
    finish_counted,
    finish_frame,
    finish_table,
    finish_table_counted,
)
from assets.normalize.identity import PSTN_JOIN_TYPES, ROOMS_INSTANCE_IDS, person_key, person_kind
from assets.normalize.parsers import MAX_TEXT_CHARS, Parsed, b64text, boolean, integer, number, percent, text
from assets.normalize.quarantine import (
    Issues,
    concat_quarantine,
    quarantine_issues,
    quarantine_repeats,
    quarantine_rows,
    record_json,
)
from assets.normalize.records import Batched, Records, field, flatten_batches, split_objects, sub_objects
from assets.normalize.times import (
    LOCAL_FORMAT,
    Unit,
    business_date,
    epoch,
    local_date,
    local_datetime,
    ms_to_seconds,
    to_utc_scalar,
)
from resources.platform_constants import PLATFORM_TIMEZONE

DEFAULT_TZ = PLATFORM_TIMEZONE

__all__ = [
    "DEFAULT_TZ", "LOCAL_FORMAT", "MAX_TEXT_CHARS", "PSTN_JOIN_TYPES", "ROOMS_INSTANCE_IDS", "Batched", "Issues",
    "Normalized", "Parsed", "Records", "Unit", "apply_map", "b64text", "boolean", "business_date", "concat_quarantine",
    "empty", "empty_as", "epoch", "field", "fill", "finish", "finish_counted", "finish_frame", "finish_table",
    "finish_table_counted", "flatten_batches", "integer", "local_date", "local_datetime", "ms_to_seconds", "number",
    "percent", "person_key", "person_kind", "quarantine_issues", "quarantine_repeats", "quarantine_rows",
    "record_json", "split_objects", "sub_objects", "text", "to_utc_scalar",
]
