"""Which auth modes the platform's API reference says each endpoint family accepts.

The OAuth page's scope table (see ``scopes.py``) lists the ``/v1/corp/*`` lists under
account-level OAuth scopes; the API reference pages say "目前暂不支持 OAuth2.0 鉴权访问" on the
same routes. Both readings are kept: nothing is skipped in advance because of this table, it
only decides what a permission refusal means (docs/platform.md, "Auth rules per endpoint").
"""

from __future__ import annotations

from typing import Literal

from resources.tencent import scopes as sc

AuthMode = Literal["oauth", "aksk"]

AKSK_FIX = (
    "fix: use an enterprise self-built app (企业级自建应用) with AK/SK, TMEET_AUTH_MODE=aksk "
    "(README, \"Option B: AK/SK signature\")"
)
OAUTH_FIX = "fix: use an OAuth app, TMEET_AUTH_MODE=oauth, and run `tmeet-etl auth login`"

# endpoint -> (modes the API reference documents, reference page)
DOCUMENTED: dict[str, tuple[frozenset[AuthMode], str]] = {
    sc.E_CORP_MEETINGS: (frozenset({"aksk"}), "1095/52492, 1095/52490"),
    sc.E_CORP_RECORDS: (frozenset({"aksk"}), "1095/53224"),
    sc.E_CORP_USERS: (frozenset({"aksk"}), "1095/52494"),
    sc.E_CORP_ROLES: (frozenset({"aksk"}), "1095/52496"),
    sc.E_USERS_LIST: (frozenset({"aksk"}), "1095/43678"),
    sc.E_USER_INFO: (frozenset({"oauth"}), "1095/67432"),
}

# Endpoints an OAuth caller reaches, but where it sees only meetings and recordings created
# through OAuth apps (participants 1095/42701, user meeting list 1095/42421, meeting by code,
# recordings list).
OAUTH_CREATED_ONLY: frozenset[str] = frozenset({
    sc.E_PARTICIPANTS, sc.E_USER_MEETINGS, sc.E_MEETING_BY_CODE, sc.E_RECORDS,
})

# The wording of the platform's own refusal when OAuth is not accepted on a route.
OAUTH_REFUSAL_MARK = "暂不支持 OAuth"


def supports(endpoint: str, mode: str) -> bool:
    """False only when the API reference documents that ``endpoint`` refuses ``mode``."""
    documented = DOCUMENTED.get(endpoint)
    return documented is None or mode in documented[0]


def reference_page(endpoint: str) -> str:
    documented = DOCUMENTED.get(endpoint)
    return documented[1] if documented else ""


def fix_for(mode: str) -> str:
    """What to change when ``mode`` is refused: the other mode's credentials."""
    return AKSK_FIX if mode == "oauth" else OAUTH_FIX


def is_mode_refusal(endpoint: str, mode: str, platform_message: str) -> bool:
    """A permission refusal means "wrong auth mode" when the reference or the message says so."""
    return not supports(endpoint, mode) or (mode == "oauth" and OAUTH_REFUSAL_MARK in platform_message)
