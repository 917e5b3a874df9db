"""Person identity shared by participant sessions and webhook events (docs/tables.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PSTN_JOIN_TYPES = (0, 4, 5, 6)
ROOMS_INSTANCE_IDS = (20, 21, 22, 30, 32, 33)
_KIND_LABELS = pa.array(["pstn", "rooms", "enterprise", "external"], type=pa.string())


def person_key(userid: pa.Array, uuid: pa.Array, ms_open_id: pa.Array) -> pa.Array:
    """userid when non-empty, else uuid, else ms_open_id (inputs already have '' as null)."""
    return pc.coalesce(userid, uuid, ms_open_id)


def person_kind(instanceid: pa.Array, join_type: pa.Array | None, is_enterprise_user: pa.Array | None) -> pa.Array:
    """pstn, rooms, enterprise or external: the first rule of docs/tables.md that matches."""
    n = len(instanceid)
    inst = np.asarray(pc.fill_null(instanceid, -1).to_numpy(zero_copy_only=False))
    join = (
        np.asarray(pc.fill_null(join_type, -1).to_numpy(zero_copy_only=False)) if join_type is not None else np.full(n, -1)
    )
    enterprise = (
        np.asarray(pc.fill_null(is_enterprise_user, False).to_numpy(zero_copy_only=False), dtype=bool)
        if is_enterprise_user is not None
        else np.zeros(n, dtype=bool)
    )
    codes = np.select(
        [(inst == 0) | np.isin(join, PSTN_JOIN_TYPES), np.isin(inst, ROOMS_INSTANCE_IDS), enterprise],
        [0, 1, 2],
        default=3,
    )
    return _KIND_LABELS.take(pa.array(codes, type=pa.int64()))
