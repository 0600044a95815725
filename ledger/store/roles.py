"""PostgreSQL roles for a shared ledger: a writer that cannot alter, an auditor that only reads."""

from __future__ import annotations


def roles_sql(
    writer: str, auditor: str, events_table: str = "subledger_events", maintained: tuple[str, ...] = ()
) -> str:
    """SQL, to run as the owner of the schema, that sets up a writer and an auditor role.

    The writer may append but not alter: the append-only triggers refuse UPDATE,
    DELETE and TRUNCATE of the events, the log and the material keys, and only
    the owner may disable triggers. It may add material keys and key-encryption
    key ids, but a new KEK id only where an erasure recorded in the log made it
    (a trigger), so it cannot destroy keys outside an erasure. It holds UPDATE on the events table only because
    PostgreSQL requires UPDATE, DELETE or TRUNCATE privilege for the EXCLUSIVE
    lock that eventsourcing takes to give positions in commit order. The
    auditor may read, export and verify, and nothing else. `maintained` names
    tables the writer keeps current besides the ledger's (the views).
    """
    w, a = (f'"{name}"' for name in (writer, auditor))
    return "\n".join(
        (
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {w}, {a};",
            f"GRANT USAGE ON SCHEMA public TO {w}, {a};",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {a};",
            f"GRANT SELECT, INSERT ON {events_table}, ledger_log TO {w};",
            f"GRANT UPDATE ON {events_table} TO {w};  -- for LOCK ... IN EXCLUSIVE MODE only",
            f"GRANT SELECT, INSERT, UPDATE ON ledger_head TO {w};",
            f"GRANT SELECT, INSERT ON material_keys, material_keks TO {w};",
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {w};",
            *(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {w};" for table in maintained),
            "",
        )
    )
