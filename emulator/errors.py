"""The platform's error envelope: a non-200 status with ``{"error_info": {...}}``."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse

# The platform prefixes the classic six-digit code with a three-digit family in
# ``new_error_code`` (190303 -> 200190303). The prefix rule is inferred, so keep it in one place.
NEW_ERROR_CODE_PREFIX = 200_000_000


class ApiError(Exception):
    """An API failure exactly as the platform reports it."""

    def __init__(
        self,
        error_code: int,
        message: str,
        http_status: int = 400,
        new_error_code: int | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.http_status = http_status
        self.new_error_code = (
            new_error_code if new_error_code is not None else NEW_ERROR_CODE_PREFIX + error_code
        )

    def body(self) -> dict[str, dict[str, int | str]]:
        return {
            "error_info": {
                "error_code": self.error_code,
                "new_error_code": self.new_error_code,
                "message": self.message,
            }
        }

    def to_response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=self.http_status, headers={"X-TC-Trace": uuid.uuid4().hex}
        )


def invalid_param(message: str) -> ApiError:
    return ApiError(190004, f"Invalid parameter: {message}", 400)


def no_permission(message: str = "No permission for this resource") -> ApiError:
    return ApiError(9042, message, 403)


def meeting_not_exist() -> ApiError:
    return ApiError(9003, "MEETING NOT EXIST", 500)


def record_not_exist() -> ApiError:
    return ApiError(4049, "Record not found", 500)


def user_not_exist() -> ApiError:
    return ApiError(20001, "User does not exist", 400)


def token_invalid(message: str = "AccessToken invalid or expired") -> ApiError:
    return ApiError(190303, message, 400)
