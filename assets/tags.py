"""What each asset declares about itself, as Dagster tags: the one place tables are registered.

Jobs select by these tags, and the warehouse, the rebuild, the scope plan and the docs' table
index read them (``assets.registry``), so adding a table is its asset module, its normalizer and
its SQL. Tags (not metadata) because Dagster selects on them: ``tag:tmeet/kind=pull`` in the UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

KIND = "tmeet/kind"
SCOPE = "tmeet/scope"
USER_SCOPE = "tmeet/user_scope"
ARCHIVE = "tmeet/archive"
WAREHOUSE = "tmeet/warehouse"
LOOKBACK = "tmeet/lookback"
# Metadata, not a tag: endpoints are not valid tag values, and the UI shows metadata on the asset.
ENDPOINTS = "tmeet/endpoints"
CALLERS = ("account", "user", "admin")

Kind = Literal["pull", "snapshot", "webhook", "publish", "report"]
# required: the publish waits for it; optional: published when present (an account may have no
# webhook subscription or snapshot schedule); built: made by the publish itself.
Membership = Literal["required", "optional", "built"]
KINDS: tuple[Kind, ...] = ("pull", "snapshot", "webhook", "publish", "report")
MEMBERSHIPS: tuple[Membership, ...] = ("required", "optional", "built")
# A user-level app has no endpoint for some account-wide tables.
NO_USER_SCOPE = "none"
TRUE = "true"


def table_tags(
    kind: Kind,
    *,
    warehouse: Membership,
    scope: str | None = None,
    user_scope: str | None = None,
    archive: str | None = None,
    lookback: bool = False,
) -> dict[str, str]:
    """The tags of one table asset.

    ``scope`` is the weakest account-level (and AK/SK) scope that reads it, ``user_scope`` the
    user-level one (``None``: no user-level endpoint reaches it); ``archive`` names the raw-page
    archive `tmeet-etl rebuild` replays it from; ``lookback`` puts it in the recordings look-back.
    """
    tags = {KIND: kind, WAREHOUSE: warehouse}
    if scope is not None:
        tags[SCOPE] = scope
        tags[USER_SCOPE] = user_scope or NO_USER_SCOPE
    if archive is not None:
        tags[ARCHIVE] = archive
    if lookback:
        tags[LOOKBACK] = TRUE
    return tags


def endpoint_metadata(
    account: Sequence[str], user: Sequence[str] = (), admin: Sequence[str] | None = None
) -> dict[str, Any]:
    """The endpoint families a table's run calls, per caller: an account-level or AK/SK app
    (``account``), a user-level app (``user``), and an account-level OAuth app refused the
    account-wide lists that reads as its admin (``admin``, by default what a user-level app calls).
    ``doctor`` probes them to say which tables a deployment can reach."""
    return {ENDPOINTS: {"account": list(account), "user": list(user),
                        "admin": list(user if admin is None else admin)}}


def endpoints_of(metadata: Mapping[str, Any], caller: str) -> tuple[str, ...]:
    """What :func:`endpoint_metadata` declared for ``caller``; a table that declared none calls nothing."""
    declared = metadata.get(ENDPOINTS)
    value = getattr(declared, "value", declared) or {}
    return tuple(value.get(caller, ()))
