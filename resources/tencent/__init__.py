"""The Tencent Meeting Open API client: auth, token store, quota limiter, retries, pagination, scopes."""

from __future__ import annotations

from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import (
    ApiError,
    AuthError,
    AuthModeUnsupported,
    BadRequest,
    PermissionDenied,
    QuotaExhausted,
    ReauthorizeRequired,
    ResponseShapeError,
    ResourceGone,
    RetryableError,
    TencentError,
)
from resources.tencent.pagination import Page
from resources.tencent.scopes import AssetPlan, ScopeNeed, plan_assets
from resources.tencent.stats import CallStats

__all__ = [
    "ApiError",
    "AssetPlan",
    "ScopeNeed",
    "AuthError",
    "AuthModeUnsupported",
    "BadRequest",
    "CallStats",
    "Page",
    "PermissionDenied",
    "QuotaExhausted",
    "ReauthorizeRequired",
    "ResponseShapeError",
    "ResourceGone",
    "RetryableError",
    "TencentError",
    "TencentMeetingClient",
    "plan_assets",
]
