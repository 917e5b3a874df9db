"""Settings every test process starts with, before any project module is imported."""

from __future__ import annotations

import os

# Asset retry policies are built when the definitions are imported. Tests want a failing step to
# fail at once, not after the production policy's half-minute delays.
os.environ.setdefault("TMEET_STEP_RETRIES", "0")
