"""The history database: SQLite through sqlite-utils, migrated on open."""

from __future__ import annotations

from auditor.store.store import AuditStore, RunRecord, RunResults

__all__ = ["AuditStore", "RunRecord", "RunResults"]
