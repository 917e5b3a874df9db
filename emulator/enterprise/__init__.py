"""The deterministic synthetic enterprise behind the emulator's read endpoints and ground truth."""

from __future__ import annotations

from emulator.enterprise.enterprise import Enterprise, PushedEvent, Scale
from emulator.enterprise.generator import SCALES, person_kind
from emulator.enterprise.model import (
    STATUS_LABELS, AccessEvent, Department, Instance, RecordFile, Recording, Role, Session, User,
)

__all__ = [
    "SCALES", "STATUS_LABELS", "AccessEvent", "Department", "Enterprise", "Instance", "RecordFile",
    "PushedEvent", "Recording", "Role", "Scale", "Session", "User", "person_kind",
]
