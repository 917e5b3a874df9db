"""An account-level OAuth app on a platform that closes the account-wide lists to OAuth.

The API reference refuses OAuth on ``/v1/corp/*`` (docs/platform.md, "Auth rules per endpoint")
and lets an OAuth caller read only what its user may read. So, once a corp list is refused, an
account-level OAuth app reads through the per-user lists named by its own open_id, which the
reference documents as OAuth-capable: the installing admin's ended meetings
(``/v1/history/meetings/{userid}``), upcoming and live meetings (``/v1/meetings``), recordings
(``/v1/records``) and basic info (``/v1/users/info/basic``). What it lands is exactly what that
admin may see (docs/platform.md, "What account-level OAuth lands under the API reference").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from assets._refusals import refusal_reason
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import AuthModeUnsupported
from resources.tencent.pagination import Page

NARROWED = "(read as the admin)"


def can_read_as_admin(client: TencentMeetingClient) -> bool:
    """An account-level OAuth app has an open_id of its own: its admin's."""
    return client.mode == "oauth" and client.app_type == "account" and client.open_id is not None


def corp_or_own(
    client: TencentMeetingClient,
    corp: Callable[[], Iterator[Page]],
    own: Callable[[], Iterator[Page]],
    *,
    corp_endpoint: str,
    resource: str,
    own_endpoint: str,
) -> Iterator[Page]:
    """The account-wide list; once the platform refuses it to OAuth, the admin's own list instead.

    The refusal and the narrower read are written to ``sync_log`` with the fix, so a run never
    passes the admin's share off as the account without saying so.
    """
    if not can_read_as_admin(client):
        yield from corp()
        return
    known = client.mode_refusals.get(corp_endpoint)
    if known is not None:
        # Refused earlier in this step (another day of the range): do not spend a call to hear it again.
        note_narrowed(client, known, resource, own_endpoint)
        yield from own()
        return
    yielded = False
    try:
        for page in corp():
            yielded = True
            yield page
        return
    except AuthModeUnsupported as exc:
        if yielded:
            raise
        note_narrowed(client, exc, resource, own_endpoint)
    yield from own()


def note_narrowed(client: TencentMeetingClient, exc: AuthModeUnsupported, resource: str, own_endpoint: str) -> None:
    """One ``sync_log`` row on the refused endpoint, naming what was read instead and the fix."""
    reason = f"{refusal_reason(exc)}; read the admin's own {resource} through {own_endpoint} instead"
    client.stats.skip(exc.endpoint or NARROWED, resource, exc.code, reason)
