"""The database schema, one function per change, applied in order and never edited."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("auditor")


@migrations()
def m001_initial(db: Database) -> None:
    """Runs, what each tag pointed to and when, facts by digest, verdict intervals."""
    db.table("runs").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "config": str,
            "auditor_version": str,
            "tags": int,
            "compliant": int,
            "non_compliant": int,
            "unknown": int,
            "error": int,
        },
        pk="id",
    )
    db.table("run_requests").create(
        {"run_id": int, "registry": str, "kind": str, "count": int, "bytes": int, "errors": int},
        pk=("run_id", "registry", "kind"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("run_errors").create(
        {"id": int, "run_id": int, "registry": str, "repository": str, "message": str},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("repositories").create(
        {
            "registry": str,
            "name": str,
            "first_seen_run": int,
            "last_seen_run": int,
            "removed_run": int,
        },
        pk=("registry", "name"),
    )
    db.table("tags").create(
        {
            "id": int,
            "registry": str,
            "repository": str,
            "tag": str,
            "digest": str,
            "first_seen_run": int,
            "last_seen_run": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "ended_run": int,
        },
        pk="id",
    )
    db.table("tags").create_index(["registry", "repository", "tag", "ended_run"])
    db.table("facts").create(
        {"digest": str, "media_type": str, "resolved_run": int, "resolved_at": str, "facts": str},
        pk="digest",
    )
    db.table("verdicts").create(
        {
            "id": int,
            "registry": str,
            "repository": str,
            "tag": str,
            "policy_id": str,
            "policy_type": str,
            "digest": str,
            "status": str,
            "reason": str,
            "remediation": str,
            "platforms": str,
            "evidence": str,
            "first_run": int,
            "last_run": int,
            "ended_run": int,
        },
        pk="id",
    )
    db.table("verdicts").create_index(["registry", "repository", "tag", "policy_id", "ended_run"])
    db.table("verdicts").create_index(["first_run", "last_run"])
