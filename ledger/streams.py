"""Which eventsourcing stream holds a course: the one mapping, for the writer and for `verify`."""

from __future__ import annotations

import uuid
from functools import cache
from uuid import UUID

# The namespace of course stream ids; never change it (streams would be lost).
COURSE_NAMESPACE = UUID("2b4f8d0e-6a57-4c1b-8f3e-93d0a1c5e7b2")


@cache
def stream_id(course: str) -> UUID:
    """The eventsourcing originator id of a course's stream."""
    return uuid.uuid5(COURSE_NAMESPACE, course)
