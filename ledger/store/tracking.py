"""Moving a tracking record inside the caller's own transaction, on either store.

eventsourcing's public `TrackingRecorder.insert_tracking` commits a tracking
record in a transaction of its own. The views write their rows and the record
of how far they got in one transaction, so they need the same write inside
theirs. This does it with eventsourcing's public statement
(`insert_tracking_statement`), not its private `_insert_tracking`;
`tests/test_recorder_contract.py` pins the behaviour, so an eventsourcing
upgrade that changes it fails there first.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from ledger.store.append import Cursor


def insert_tracking(recorder: Any, cursor: Cursor, tracking: Tracking) -> None:
    """Record `tracking` with `recorder`'s statement in `cursor`'s transaction.

    `recorder` is an eventsourcing SQLite or PostgreSQL tracking recorder. As
    eventsourcing's own method does, raise `IntegrityError` when the record
    would not move forward (single-row tracking: another process got further).
    """
    cursor.execute(
        recorder.insert_tracking_statement,
        {"application_name": tracking.application_name, "notification_id": tracking.notification_id},
    )
    if recorder.datastore.single_row_tracking and cursor.fetchone() is None:
        raise IntegrityError(f"Failed to record tracking for {tracking.application_name} {tracking.notification_id}")
