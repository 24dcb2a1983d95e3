"""Reading and writing the audit history.

History grows with changes, not with nights × tags: a tag's digest and each verdict are
intervals (``first``/``last`` run) that an unchanged run merely extends. A run is written
in one transaction, so a crash leaves the history as it was, plus the run's own row marked
``running``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from auditor import __version__
from auditor.errors import StoreError
from auditor.models import (
    Digest,
    ImageFacts,
    RequestCount,
    ScopeFailure,
    Status,
    TagObservation,
    TagRef,
    Verdict,
)
from auditor.store.migrations import migrations

_CHUNK = 500  # stays well under SQLite's limit on bound parameters


@dataclass(frozen=True, kw_only=True, slots=True)
class RunRecord:
    """One run's row: when, how it ended, and its totals."""

    id: int
    started_at: str
    finished_at: str | None
    status: str
    config: str
    tags: int
    compliant: int
    non_compliant: int
    unknown: int
    error: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResults:
    """Everything a run recorded, for its summary and its exit code."""

    run: RunRecord
    failures: tuple[ScopeFailure, ...]


class AuditStore:
    """The audit database at one path, migrated to the current schema on open."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrations.apply(db)

    @classmethod
    def open(cls, path: Path) -> AuditStore:
        """Open (creating if needed) the database at `path`; raises `StoreError`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(Database(path))
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the database {path}: {error}") from error

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- runs ---------------------------------------------------------------------------

    def start_run(self, started_at: str, config: str) -> int:
        """Record that a run began; returns its id."""
        with self.db.atomic():
            table = self.db.table("runs")
            table.insert(
                {
                    "started_at": started_at,
                    "status": "running",
                    "config": config,
                    "auditor_version": __version__,
                }
            )
            assert table.last_rowid is not None  # set by the insert just made
            return table.last_rowid

    def fail_run(self, run_id: int, finished_at: str) -> None:
        """Mark a run that could not finish as ``failed``; nothing else is touched."""
        with self.db.atomic():
            self.db.table("runs").update(run_id, {"status": "failed", "finished_at": finished_at})

    def previous_run_id(self, run_id: int) -> int | None:
        """The latest run before `run_id` that recorded results."""
        row = self.db.execute(
            "select max(id) from runs where id < ? and status in ('completed', 'partial')",
            [run_id],
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def latest_run_id(self) -> int | None:
        """The newest run that recorded results, or None."""
        row = self.db.execute(
            "select max(id) from runs where status in ('completed', 'partial')"
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def run(self, run_id: int) -> RunRecord:
        """Return a run's row; raises `StoreError` when there is none."""
        rows = list(self.db.table("runs").rows_where("id = ?", [run_id]))
        if not rows:
            raise StoreError(f"there is no run {run_id} in the database")
        row = rows[0]
        return RunRecord(
            id=row["id"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            status=row["status"],
            config=row["config"],
            tags=row["tags"] or 0,
            compliant=row["compliant"] or 0,
            non_compliant=row["non_compliant"] or 0,
            unknown=row["unknown"] or 0,
            error=row["error"] or 0,
        )

    def failures(self, run_id: int) -> tuple[ScopeFailure, ...]:
        """What could not be listed in a run."""
        return tuple(
            ScopeFailure(registry=r["registry"], repository=r["repository"], message=r["message"])
            for r in self.db.table("run_errors").rows_where("run_id = ?", [run_id], order_by="id")
        )

    def requests(self, run_id: int) -> list[RequestCount]:
        """The requests a run made, by registry and kind."""
        return [
            RequestCount(
                registry=r["registry"],
                kind=r["kind"],
                count=r["count"],
                bytes=r["bytes"],
                errors=r["errors"],
            )
            for r in self.db.table("run_requests").rows_where(
                "run_id = ?", [run_id], order_by="registry, kind"
            )
        ]

    # -- facts --------------------------------------------------------------------------

    def known_facts(self, digests: Iterable[Digest]) -> dict[Digest, ImageFacts]:
        """Facts already resolved for any of `digests`.

        Facts stored in an older layout are left out, so they are resolved again (and
        replaced) with everything the current version knows how to find.
        """
        found: dict[Digest, ImageFacts] = {}
        for chunk in _chunks(sorted(set(digests))):
            marks = ",".join("?" * len(chunk))
            for digest, raw in self.db.execute(
                f"select digest, facts from facts where digest in ({marks})", chunk
            ):
                data = json.loads(raw)
                if ImageFacts.is_current(data):
                    found[Digest(digest)] = ImageFacts.from_dict(data)
        return found

    # -- tags ---------------------------------------------------------------------------

    def current_tags(self, registry: str, repository: str | None = None) -> list[TagObservation]:
        """The tags last known to exist in a registry (or one repository), with digests."""
        where, args = "registry = ? and ended_run is null", [registry]
        if repository is not None:
            where, args = where + " and repository = ?", [*args, repository]
        return [
            TagObservation(
                ref=TagRef(registry, r["repository"], r["tag"]), digest=Digest(r["digest"])
            )
            for r in self.db.table("tags").rows_where(where, args, order_by="repository, tag")
        ]

    # -- recording a run ----------------------------------------------------------------

    def record_run(
        self,
        run_id: int,
        *,
        finished_at: str,
        observations: Sequence[TagObservation],
        verdicts: Mapping[TagRef, Sequence[Verdict]],
        listed: Mapping[str, Sequence[str] | None],
        complete_repositories: Iterable[tuple[str, str]],
        facts: Iterable[ImageFacts],
        failures: Sequence[ScopeFailure],
        requests: Sequence[RequestCount],
    ) -> RunRecord:
        """Write everything a run found, in one transaction, and return its row.

        `listed` maps each registry to the repositories its listing returned, or None when
        the registry could not be listed. `complete_repositories` are the (registry,
        repository) pairs whose tag list was read completely: only there can a tag be
        recorded as removed.
        """
        previous = self.previous_run_id(run_id)
        counts = dict.fromkeys(Status, 0)
        for tag_verdicts in verdicts.values():
            for verdict in tag_verdicts:
                counts[verdict.status] += 1
        status = "partial" if failures else "completed"
        with self.db.atomic():
            self._record_repositories(run_id, listed)
            removed = self._record_tags(
                run_id, finished_at, observations, set(complete_repositories)
            )
            self._record_facts(run_id, finished_at, facts)
            self._record_verdicts(run_id, previous, observations, verdicts, removed)
            self.db.table("run_errors").insert_all(
                {
                    "run_id": run_id,
                    "registry": f.registry,
                    "repository": f.repository,
                    "message": f.message,
                }
                for f in failures
            )
            self.db.table("run_requests").insert_all(
                {
                    "run_id": run_id,
                    "registry": r.registry,
                    "kind": r.kind,
                    "count": r.count,
                    "bytes": r.bytes,
                    "errors": r.errors,
                }
                for r in requests
            )
            self.db.table("runs").update(
                run_id,
                {
                    "finished_at": finished_at,
                    "status": status,
                    "tags": len(verdicts),
                    **{s.value: n for s, n in counts.items()},
                },
            )
        return self.run(run_id)

    def _record_repositories(self, run_id: int, listed: Mapping[str, Sequence[str] | None]) -> None:
        table = self.db.table("repositories")
        for registry, names in listed.items():
            if names is None:
                continue  # NOTE: an unlisted registry tells nothing about its repositories
            known = {r["name"]: r for r in table.rows_where("registry = ?", [registry])}
            table.upsert_all(
                (
                    {
                        "registry": registry,
                        "name": name,
                        "first_seen_run": known[name]["first_seen_run"]
                        if name in known
                        else run_id,
                        "last_seen_run": run_id,
                        "removed_run": None,
                    }
                    for name in names
                ),
                pk=("registry", "name"),
            )
            listed_names = set(names)
            gone = [
                n for n, r in known.items() if n not in listed_names and r["removed_run"] is None
            ]
            for name in gone:
                table.update((registry, name), {"removed_run": run_id})

    def _record_tags(
        self,
        run_id: int,
        seen_at: str,
        observations: Sequence[TagObservation],
        complete: set[tuple[str, str]],
    ) -> set[tuple[str, ...]]:
        """Extend, move and end tag intervals; returns the tags found removed."""
        table = self.db.table("tags")
        open_rows = self._open_rows("tags", ("registry", "repository", "tag"))
        extend: list[int] = []
        inserts: list[dict[str, Any]] = []
        close: list[int] = []
        observed: set[tuple[str, ...]] = set()
        for observation in observations:
            ref = observation.ref
            key = (ref.registry, ref.repository, ref.tag)
            observed.add(key)
            if observation.digest is None:
                continue  # NOTE: unknown this run; the last known interval stays open
            row = open_rows.get(key)
            if row is not None and row["digest"] == observation.digest:
                extend.append(row["id"])
                continue
            if row is not None:
                close.append(row["id"])
            inserts.append(
                {
                    "registry": ref.registry,
                    "repository": ref.repository,
                    "tag": ref.tag,
                    "digest": observation.digest,
                    "first_seen_run": run_id,
                    "last_seen_run": run_id,
                    "first_seen_at": seen_at,
                    "last_seen_at": seen_at,
                }
            )
        removed = {key for key in open_rows if key not in observed and (key[0], key[1]) in complete}
        close.extend(open_rows[key]["id"] for key in removed)
        self._update_ids("tags", extend, {"last_seen_run": run_id, "last_seen_at": seen_at})
        self._update_ids("tags", close, {"ended_run": run_id})
        table.insert_all(inserts)
        return removed

    def _record_facts(self, run_id: int, resolved_at: str, facts: Iterable[ImageFacts]) -> None:
        complete = [f for f in facts if f.complete]
        # NOTE: facts in an older layout were resolved again (see known_facts); they make
        # way for the new ones, while current facts are never rewritten.
        for chunk in _chunks([f.digest for f in complete]):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"delete from facts where digest in ({marks})"
                " and json_extract(facts, '$.format') is not ?",
                [*chunk, ImageFacts.FORMAT],
            )
        self.db.table("facts").insert_all(
            (
                {
                    "digest": f.digest,
                    "media_type": f.media_type,
                    "resolved_run": run_id,
                    "resolved_at": resolved_at,
                    "facts": json.dumps(f.to_dict(), sort_keys=True),
                }
                for f in complete
            ),
            pk="digest",
            ignore=True,
        )

    def _record_verdicts(
        self,
        run_id: int,
        previous: int | None,
        observations: Sequence[TagObservation],
        verdicts: Mapping[TagRef, Sequence[Verdict]],
        removed: set[tuple[str, ...]],
    ) -> None:
        open_rows = self._open_rows("verdicts", ("registry", "repository", "tag", "policy_id"))
        digests = {o.ref: o.digest for o in observations}
        extend: list[int] = []
        close: list[int] = []
        inserts: list[dict[str, Any]] = []
        for ref, tag_verdicts in verdicts.items():
            for verdict in tag_verdicts:
                record = _verdict_record(ref, digests.get(ref), verdict)
                row = open_rows.pop(
                    (ref.registry, ref.repository, ref.tag, verdict.policy_id), None
                )
                if row is not None and row["last_run"] == previous and _same_verdict(row, record):
                    extend.append(row["id"])
                    continue
                if row is not None:
                    close.append(row["id"])
                inserts.append({**record, "first_run": run_id, "last_run": run_id})
        # NOTE: tags that vanished (or policies dropped) end their intervals here.
        # NOTE: what is left open was not judged now: a removed tag, or a policy no longer
        # configured for a tag that was judged; either way its interval ends here.
        close.extend(
            row["id"]
            for key, row in open_rows.items()
            if key[:3] in removed or TagRef(*key[:3]) in verdicts
        )
        self._update_ids("verdicts", extend, {"last_run": run_id})
        self._update_ids("verdicts", close, {"ended_run": run_id})
        self.db.table("verdicts").insert_all(inserts)

    def _open_rows(self, table: str, key: tuple[str, ...]) -> dict[tuple[str, ...], dict[str, Any]]:
        return {
            tuple(row[k] for k in key): row
            for row in self.db.table(table).rows_where("ended_run is null")
        }

    def _update_ids(self, table: str, ids: list[int], values: Mapping[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"update {table} set {assignments} where id in ({marks})",
                [*values.values(), *chunk],
            )

    # -- reading results ----------------------------------------------------------------

    def results(self, run_id: int) -> list[dict[str, Any]]:
        """Every verdict that held in run `run_id`, one row per tag × policy, sorted.

        Raises `StoreError` for a run that recorded no results (failed or still running).
        """
        run = self.run(run_id)
        if run.status not in ("completed", "partial"):
            raise StoreError(f"run {run_id} is {run.status}: it recorded no results")
        return [
            dict(row)
            for row in self.db.query(
                """
                select registry, repository, tag, digest, policy_id as policy, policy_type,
                       status, reason, remediation, platforms, evidence, first_run
                from verdicts
                where first_run <= :run and last_run >= :run
                order by registry, repository, tag, policy_id
                """,
                {"run": run_id},
            )
        ]


def _verdict_record(ref: TagRef, digest: Digest | None, verdict: Verdict) -> dict[str, Any]:
    return {
        "registry": ref.registry,
        "repository": ref.repository,
        "tag": ref.tag,
        "policy_id": verdict.policy_id,
        "policy_type": verdict.policy_type,
        "digest": digest,
        "status": verdict.status.value,
        "reason": verdict.reason,
        "remediation": verdict.remediation,
        "platforms": json.dumps(
            [
                {
                    "platform": p.platform,
                    "digest": p.digest,
                    "status": p.status.value,
                    "reason": p.reason,
                }
                for p in verdict.platforms
            ]
        ),
        "evidence": json.dumps(list(verdict.evidence)),
    }


_COMPARED = ("policy_type", "digest", "status", "reason", "remediation", "platforms", "evidence")


def _same_verdict(row: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    return all(row[k] == record[k] for k in _COMPARED)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
