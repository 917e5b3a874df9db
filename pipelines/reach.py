"""What an auth mode reaches under each reading of the platform, in a sentence (docs/platform.md).

The emulator's viewer truth (``emulator/truth.py``) computes the same reach row by row; this is the
wording the product prints, e.g. at the start of ``tmeet-etl demo``.
"""

from __future__ import annotations

from resources.tencent import auth_modes

READINGS = {
    "api-reference": "the API reference",
    "scope-table": "the OAuth page's reading (scope-table)",
}
_AKSK_HINT = "for the whole account use AK/SK (TMEET_AUTH_MODE=aksk)"


def reach_summary(platform: str, auth_mode: str, app_type: str) -> str:
    """One or two lines: who reads, under which reading, and what it lands."""
    mode = "AK/SK" if auth_mode == "aksk" else f"{app_type}-level OAuth"
    who = f"{mode} under {READINGS[platform]}"
    if auth_mode == "aksk":
        return f"{who}: the whole account (an enterprise-level self-built app)"
    if app_type == "account" and platform == "scope-table":
        return (f"{who}: the whole account; on today's platform (the API reference) OAuth reads only its "
                f"admin's meetings created through OAuth apps, so {_AKSK_HINT}")
    whose = "its admin's" if app_type == "account" else "each authorizing user's"
    if platform == "scope-table":
        return f"{who}: {whose} own meetings, recordings and user record; {_AKSK_HINT}"
    return (f"{who}: {whose} own meetings and recordings created through OAuth apps, and {whose} own user "
            f"record, without departments or roles; {auth_modes.AKSK_FIX}")
