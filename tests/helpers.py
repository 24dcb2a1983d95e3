"""Small helpers shared by the tests: pushing the sample fleet, reading recorded results."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import httpx
from sqlite_utils import Database

from tests.support.oci import push
from tests.support.registry import RunningRegistry

UNPUSHABLE = frozenset({"acme/broken"})
"""Sample repositories a registry refuses (invalid JSON manifests, missing children)."""


def push_sample_fleet(
    fleet_module: ModuleType, registry: RunningRegistry, auth: httpx.Auth | None = None
) -> list[object]:
    """Push every pushable sample repository; returns their `Expected` rows."""
    expected: list[object] = []
    with httpx.Client(auth=auth, timeout=30) as client:
        for repository in fleet_module.build_fleet():
            if repository.name in UNPUSHABLE:
                continue
            for tag, root in repository.tags.items():
                push(client, registry.url, repository.name, repository.store, root, tag)
            expected.extend(repository.expected)
    return expected


def verdicts_of_run(database: Path, run_id: int) -> dict[tuple[str, str, str], str]:
    """Map (repository, tag, policy) to the status recorded as holding in `run_id`."""
    db = Database(database)
    try:
        return {
            (row["repository"], row["tag"], row["policy_id"]): row["status"]
            for row in db.query(
                "select * from verdicts where first_run <= ? and last_run >= ?", [run_id, run_id]
            )
        }
    finally:
        db.close()


def request_counts(database: Path, run_id: int) -> dict[str, int]:
    """Requests of `run_id` by kind, summed over registries."""
    db = Database(database)
    try:
        counts: dict[str, int] = {}
        for row in db.query("select kind, count from run_requests where run_id = ?", [run_id]):
            counts[row["kind"]] = counts.get(row["kind"], 0) + row["count"]
        return counts
    finally:
        db.close()


def table_sizes(
    database: Path, tables: Iterable[str] = ("tags", "verdicts", "facts")
) -> dict[str, int]:
    """Row counts of history tables."""
    db = Database(database)
    try:
        return {t: db.table(t).count for t in tables}
    finally:
        db.close()


def expected_statuses(expected: Iterable[object]) -> dict[tuple[str, str, str], str]:
    """The sample fleet's declared verdicts, keyed like `verdicts_of_run`."""
    result: dict[tuple[str, str, str], str] = {}
    for e in expected:
        # NOTE: the generator writes "non_compliant (why)"; the status is the first word.
        result[(e.repository, e.tag, "default-non-root-user")] = e.non_root.split()[0]  # type: ignore[attr-defined]
        result[(e.repository, e.tag, "supply-chain-attestations")] = e.supply_chain.split()[0]  # type: ignore[attr-defined]
    return result
