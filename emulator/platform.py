"""The two readings of the platform's rules, and what each lets a caller reach (docs/platform.md).

``api-reference`` follows the per-endpoint API reference pages: the account-wide lists take AK/SK
signatures only, ``/v1/users/info/basic`` takes OAuth only, and an OAuth caller reads only
meetings created through an OAuth app, as the user it acts for. ``scope-table`` follows the
OAuth-apps page's scope table: an account-level OAuth app reads every user's data, like AK/SK.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

from emulator.errors import ApiError
from emulator.principal import Principal

Platform = Literal["api-reference", "scope-table"]
PLATFORMS: tuple[str, ...] = get_args(Platform)
DEFAULT_PLATFORM: Platform = "api-reference"

# The reference pages' wording, kept verbatim in the refusals so they can be traced to their page.
OAUTH_UNSUPPORTED = "目前暂不支持 OAuth2.0 鉴权访问"
AKSK_UNSUPPORTED = "仅支持 OAuth 2.0 鉴权用户"
# Route template -> reference page saying "目前暂不支持 OAuth2.0 鉴权访问".
AKSK_ONLY_ROUTES: dict[str, str] = {
    "/v1/corp/meetings": "1095/52490, 1095/52492",
    "/v1/corp/records": "1095/53224",
    "/v1/corp/users": "1095/52494",
    "/v1/corp/user-roles": "1095/52496",
    "/v1/users/list": "1095/43678",
}
# Route template -> reference page saying "仅支持 OAuth 2.0 鉴权用户".
OAUTH_ONLY_ROUTES: dict[str, str] = {"/v1/users/info/basic": "1095/67432"}
# The reference pages list no dedicated code for an unsupported auth mode. 9042 ("无权限操作",
# HTTP 403) is the code their error tables give for a caller the endpoint will not serve, and a
# client classifies it as a permission refusal, never as a token to refresh (190303 would be).
AUTH_MODE_ERROR_CODE = 9042
AUTH_MODE_HTTP_STATUS = 403


# The two documented answers of /v1/corp/user-roles without role_code (docs/platform.md, "Shapes and quirks").
ROLES_SHAPES: tuple[str, ...] = ("role-list", "reference")


def check_roles_shape(value: str) -> str:
    if value not in ROLES_SHAPES:
        raise ValueError(f"roles_shape must be one of {', '.join(ROLES_SHAPES)}, not {value!r}")
    return value


def check_platform(value: str) -> Platform:
    if value not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}, not {value!r}")
    return value  # type: ignore[return-value]


def auth_mode_refusal(platform: str, principal: Principal, route: str) -> ApiError | None:
    """The error the platform answers when ``route`` does not accept the caller's auth mode."""
    if platform != "api-reference":
        return None
    if principal.mode == "oauth" and route in AKSK_ONLY_ROUTES:
        return ApiError(
            AUTH_MODE_ERROR_CODE,
            f"{OAUTH_UNSUPPORTED} ({route}, reference {AKSK_ONLY_ROUTES[route]}): sign the request with "
            "AK/SK (an enterprise self-built app) to call it",
            AUTH_MODE_HTTP_STATUS,
        )
    if principal.mode == "aksk" and route in OAUTH_ONLY_ROUTES:
        return ApiError(
            AUTH_MODE_ERROR_CODE,
            f"{AKSK_UNSUPPORTED} ({route}, reference {OAUTH_ONLY_ROUTES[route]}): call it with an OAuth "
            "AccessToken; an AK/SK caller reads users with /v1/users/{userid} or /v1/corp/users",
            AUTH_MODE_HTTP_STATUS,
        )
    return None


def with_reach(platform: str, principal: Principal) -> Principal:
    """The principal as the read endpoints must treat it under ``platform``."""
    if platform == "api-reference" and principal.mode == "oauth":
        return dataclasses.replace(principal, oauth_created_only=True)
    return principal
