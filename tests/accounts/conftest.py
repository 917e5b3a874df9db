from __future__ import annotations

from tests.storage.s3_server import s3_env, s3_server  # noqa: F401 - fixtures for the S3 tests
