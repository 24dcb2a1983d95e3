"""Tests of `auditor.store.AuditStore` on an in-memory SQLite database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlite_utils import Database

from auditor.errors import StoreError
from auditor.models import (
    Attestation,
    Digest,
    ImageFacts,
    RequestCount,
    ScopeFailure,
    Status,
    TagObservation,
    TagRef,
    Verdict,
)
from auditor.store import AuditStore
from tests import factories
from tests.factories import D1, D2, Recorder, image_facts, platform_facts

LATEST = TagRef("hub", "team/app", "latest")
STABLE = TagRef("hub", "team/app", "stable")
OTHER = TagRef("hub", "team/db", "1.0")
REPOSITORIES = {"hub": ["team/app", "team/db"]}
COMPLETE = [("hub", "team/app"), ("hub", "team/db")]


def verdict(
    status: Status = Status.COMPLIANT, reason: str = "runs as 'app'", policy: str = "non-root"
) -> Verdict:
    return factories.verdict(policy, status, reason, remediation="set USER")


def facts(digest: Digest, *, missing: tuple[str, ...] = ()) -> ImageFacts:
    return image_facts(
        platform_facts(
            digest=Digest("sha256:" + "c3" * 32),
            labels={"a": "b"},
            attestations=(Attestation("https://spdx.dev/Document", D2, "buildkit-index"),),
            missing=missing,
        ),
        digest=digest,
        annotations={"k": "v"},
    )


@pytest.fixture
def store() -> AuditStore:
    return AuditStore(Database(memory=True))


@pytest.fixture
def recorder(store: AuditStore) -> Recorder:
    return Recorder(store, listed=REPOSITORIES, complete=COMPLETE, default_verdict=verdict)


def rows(store: AuditStore, table: str, **where: Any) -> list[dict[str, Any]]:
    clause = " and ".join(f"{k} = :{k}" for k in where) or None
    return list(store.db.table(table).rows_where(clause, where or None, order_by="rowid"))


def count(store: AuditStore, table: str) -> int:
    return store.db.table(table).count


class TestSchema:
    def test_migrations_create_the_tables(self, store: AuditStore) -> None:
        assert {
            "runs",
            "run_requests",
            "run_errors",
            "repositories",
            "tags",
            "facts",
            "verdicts",
        } <= set(store.db.table_names())

    def test_opening_again_keeps_the_data(self, store: AuditStore, recorder: Recorder) -> None:
        run_id = recorder.run({LATEST: D1})

        again = AuditStore(store.db)

        assert again.latest_run_id() == run_id
        assert len(again.results(run_id)) == 1

    def test_open_creates_the_file(self, tmp_path: Any) -> None:
        path = tmp_path / "deep" / "audit.db"

        opened = AuditStore.open(path)
        try:
            assert path.is_file()
            assert "runs" in opened.db.table_names()
        finally:
            opened.close()


class TestIntervals:
    def test_identical_runs_add_no_rows(self, store: AuditStore, recorder: Recorder) -> None:
        tags = {LATEST: D1, STABLE: D1, OTHER: D2}
        first = recorder.run(tags, facts=[facts(D1), facts(D2)])
        before = {t: count(store, t) for t in ("tags", "verdicts", "facts")}

        second = recorder.run(tags, facts=[facts(D1), facts(D2)])

        assert {t: count(store, t) for t in ("tags", "verdicts", "facts")} == before
        assert before == {"tags": 3, "verdicts": 3, "facts": 2}
        for row in rows(store, "tags"):
            assert (row["first_seen_run"], row["last_seen_run"], row["ended_run"]) == (
                first,
                second,
                None,
            )
            assert row["last_seen_at"] > row["first_seen_at"]
        for row in rows(store, "verdicts"):
            assert (row["first_run"], row["last_run"], row["ended_run"]) == (first, second, None)
        assert {row["resolved_run"] for row in rows(store, "facts")} == {first}

    def test_many_identical_runs_still_add_no_rows(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        for _ in range(5):
            last = recorder.run({LATEST: D1})

        assert count(store, "tags") == 1
        assert count(store, "verdicts") == 1
        assert rows(store, "verdicts")[0]["last_run"] == last

    def test_digest_change_moves_the_tag(self, store: AuditStore, recorder: Recorder) -> None:
        first = recorder.run({LATEST: D1})

        second = recorder.run({LATEST: D2})

        old, new = rows(store, "tags", tag="latest")
        assert (old["digest"], old["last_seen_run"], old["ended_run"]) == (D1, first, second)
        assert (new["digest"], new["first_seen_run"], new["ended_run"]) == (D2, second, None)
        assert store.current_tags("hub") == [TagObservation(ref=LATEST, digest=D2)]

    def test_digest_change_starts_a_new_verdict(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        first = recorder.run({LATEST: D1})

        second = recorder.run({LATEST: D2})

        old, new = rows(store, "verdicts")
        assert (old["digest"], old["last_run"], old["ended_run"]) == (D1, first, second)
        assert (new["digest"], new["first_run"], new["ended_run"]) == (D2, second, None)

    def test_verdict_change_closes_and_opens(self, store: AuditStore, recorder: Recorder) -> None:
        first = recorder.run({LATEST: D1}, {LATEST: (verdict(Status.COMPLIANT),)})

        second = recorder.run(
            {LATEST: D1}, {LATEST: (verdict(Status.NON_COMPLIANT, "runs as root"),)}
        )

        old, new = rows(store, "verdicts")
        assert (old["status"], old["last_run"], old["ended_run"]) == ("compliant", first, second)
        assert (new["status"], new["first_run"], new["ended_run"]) == (
            "non_compliant",
            second,
            None,
        )
        assert new["remediation"] == "set USER"
        (tag,) = rows(store, "tags")
        assert tag["last_seen_run"] == second, "the tag itself did not move"

    def test_reason_change_is_a_change(self, store: AuditStore, recorder: Recorder) -> None:
        recorder.run({LATEST: D1}, {LATEST: (verdict(reason="runs as 'app'"),)})

        recorder.run({LATEST: D1}, {LATEST: (verdict(reason="runs as 'web'"),)})

        assert count(store, "verdicts") == 2

    def test_tag_absent_from_a_complete_listing_is_ended(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        recorder.run({LATEST: D1, STABLE: D1})

        second = recorder.run({LATEST: D1})

        (stable,) = rows(store, "tags", tag="stable")
        assert stable["ended_run"] == second
        (stable_verdict,) = rows(store, "verdicts", tag="stable")
        assert stable_verdict["ended_run"] == second
        assert [o.ref for o in store.current_tags("hub")] == [LATEST]
        assert {r["tag"] for r in store.results(second)} == {"latest"}

    def test_tag_in_a_failed_listing_is_not_ended(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        first = recorder.run({LATEST: D1, OTHER: D2})

        second = recorder.run(
            {LATEST: D1, OTHER: None},
            {
                LATEST: (verdict(),),
                OTHER: (verdict(Status.UNKNOWN, "tags of team/db could not be listed"),),
            },
            complete=[("hub", "team/app")],
            failures=[ScopeFailure(registry="hub", repository="team/db", message="503")],
        )

        (other,) = rows(store, "tags", repository="team/db")
        assert other["ended_run"] is None
        assert (other["digest"], other["last_seen_run"]) == (D2, first)
        assert TagObservation(ref=OTHER, digest=D2) in store.current_tags("hub")
        (result,) = [r for r in store.results(second) if r["repository"] == "team/db"]
        assert result["status"] == "unknown"

    def test_unobserved_tag_in_an_incomplete_repository_is_not_ended(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        recorder.run({LATEST: D1, OTHER: D2})

        recorder.run({LATEST: D1}, complete=[("hub", "team/app")])

        (other,) = rows(store, "tags", repository="team/db")
        assert other["ended_run"] is None

    def test_unlisted_registry_keeps_its_tags(self, store: AuditStore, recorder: Recorder) -> None:
        recorder.run({LATEST: D1})

        recorder.run({}, {}, listed={"hub": None}, complete=[])

        assert store.current_tags("hub") == [TagObservation(ref=LATEST, digest=D1)]
        (repo,) = rows(store, "repositories", name="team/app")
        assert repo["removed_run"] is None

    def test_returning_tag_opens_a_new_interval(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        recorder.run({LATEST: D1, STABLE: D1})
        recorder.run({LATEST: D1})

        third = recorder.run({LATEST: D1, STABLE: D1})

        old, new = rows(store, "tags", tag="stable")
        assert old["ended_run"] == third - 1
        assert (new["first_seen_run"], new["ended_run"]) == (third, None)

    def test_a_run_without_a_verdict_is_not_bridged(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        recorder.run({LATEST: D1, OTHER: D2})
        second = recorder.run({LATEST: D1}, complete=[("hub", "team/app")])

        third = recorder.run({LATEST: D1, OTHER: D2})

        assert [r["tag"] for r in store.results(second)] == ["latest"]
        old, new = rows(store, "verdicts", repository="team/db")
        assert (old["last_run"], new["first_run"]) == (second - 1, third)

    def test_repository_removed(self, store: AuditStore, recorder: Recorder) -> None:
        first = recorder.run({LATEST: D1, OTHER: D2})

        second = recorder.run({LATEST: D1}, listed={"hub": ["team/app"]})

        (db_repo,) = rows(store, "repositories", name="team/db")
        assert (db_repo["first_seen_run"], db_repo["removed_run"]) == (first, second)
        (app_repo,) = rows(store, "repositories", name="team/app")
        assert (app_repo["last_seen_run"], app_repo["removed_run"]) == (second, None)

    def test_failed_run_between_does_not_break_intervals(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        first = recorder.run({LATEST: D1})
        failed = store.start_run("2026-02-01T00:00:00+00:00", "test.yaml")
        store.fail_run(failed, "2026-02-01T00:01:00+00:00")

        third = recorder.run({LATEST: D1})

        (row,) = rows(store, "verdicts")
        assert (row["first_run"], row["last_run"]) == (first, third)

    def test_failed_run_has_no_results(self, store: AuditStore, recorder: Recorder) -> None:
        recorder.run({LATEST: D1})
        failed = store.start_run("2026-02-01T00:00:00+00:00", "test.yaml")
        store.fail_run(failed, "2026-02-01T00:01:00+00:00")
        recorder.run({LATEST: D1})

        with pytest.raises(StoreError, match="failed"):
            store.results(failed)

    def test_dropped_policy_ends_its_intervals(self, store: AuditStore, recorder: Recorder) -> None:
        recorder.run(
            {LATEST: D1}, {LATEST: (verdict(policy="non-root"), verdict(policy="attested"))}
        )

        second = recorder.run({LATEST: D1}, {LATEST: (verdict(policy="non-root"),)})

        (attested,) = rows(store, "verdicts", policy_id="attested")
        assert attested["ended_run"] == second


class TestResults:
    def test_each_run_reads_what_held_then(self, store: AuditStore, recorder: Recorder) -> None:
        first = recorder.run({LATEST: D1}, {LATEST: (verdict(Status.COMPLIANT),)})
        second = recorder.run({LATEST: D2}, {LATEST: (verdict(Status.NON_COMPLIANT, "root"),)})
        third = recorder.run({LATEST: D2}, {LATEST: (verdict(Status.NON_COMPLIANT, "root"),)})

        (r1,) = store.results(first)
        (r2,) = store.results(second)
        (r3,) = store.results(third)
        assert (r1["status"], r1["digest"], r1["first_run"]) == ("compliant", D1, first)
        assert (r2["status"], r2["digest"], r2["first_run"]) == ("non_compliant", D2, second)
        assert (r3["status"], r3["first_run"]) == ("non_compliant", second)

    def test_one_row_per_tag_and_policy_sorted(self, store: AuditStore, recorder: Recorder) -> None:
        two = (verdict(policy="b-policy"), verdict(policy="a-policy"))
        run_id = recorder.run(
            {STABLE: D1, OTHER: D2, LATEST: D1}, dict.fromkeys((STABLE, OTHER, LATEST), two)
        )

        results = store.results(run_id)

        keys = [(r["repository"], r["tag"], r["policy"]) for r in results]
        assert keys == sorted(keys)
        assert len(keys) == 6

    def test_rows_carry_the_verdict(self, store: AuditStore, recorder: Recorder) -> None:
        run_id = recorder.run({LATEST: D1}, {LATEST: (verdict(Status.NON_COMPLIANT, "root"),)})

        (row,) = store.results(run_id)

        assert row["registry"] == "hub"
        assert row["policy_type"] == "default-non-root-user"
        assert row["reason"] == "root"
        assert row["remediation"] == "set USER"
        assert '"linux/amd64"' in row["platforms"]
        assert "User='app'" in row["evidence"]

    def test_unknown_run(self, store: AuditStore) -> None:
        with pytest.raises(StoreError, match="42"):
            store.results(42)
        with pytest.raises(StoreError, match="42"):
            store.run(42)


class TestFacts:
    def test_complete_facts_are_cached(self, store: AuditStore, recorder: Recorder) -> None:
        recorder.run({LATEST: D1}, facts=[facts(D1)])

        assert store.known_facts([D1, D2]) == {D1: facts(D1)}

    def test_facts_with_missing_evidence_are_not_cached(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        incomplete = facts(D1, missing=("attestation manifest sha256:..: 503",))

        recorder.run({LATEST: D1}, facts=[incomplete])

        assert store.known_facts([D1]) == {}
        assert count(store, "facts") == 0

    def test_facts_in_an_older_layout_are_resolved_again_and_replaced(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        recorder.run({LATEST: D1}, facts=[facts(D1)])
        older = facts(D1).to_dict()
        del older["format"]
        for platform in older["platforms"]:
            del platform["annotations"]  # a field this layout did not have yet
        store.db.execute("update facts set facts = ? where digest = ?", [json.dumps(older), D1])

        assert store.known_facts([D1]) == {}

        recorder.run({LATEST: D1}, facts=[facts(D1)])
        assert store.known_facts([D1]) == {D1: facts(D1)}
        assert count(store, "facts") == 1

    def test_known_facts_of_nothing(self, store: AuditStore) -> None:
        assert store.known_facts([]) == {}


class TestRuns:
    def test_record_returns_totals(self, store: AuditStore, recorder: Recorder) -> None:
        run_id = recorder.run(
            {LATEST: D1, OTHER: D2},
            {
                LATEST: (verdict(Status.COMPLIANT), verdict(Status.UNKNOWN, policy="p2")),
                OTHER: (verdict(Status.NON_COMPLIANT), verdict(Status.ERROR, policy="p2")),
            },
        )

        run = store.run(run_id)

        assert run.status == "completed"
        assert (run.tags, run.compliant, run.non_compliant, run.unknown, run.error) == (
            2,
            1,
            1,
            1,
            1,
        )
        assert run.finished_at is not None
        assert run.config == "test.yaml"

    def test_failures_make_a_partial_run(self, store: AuditStore, recorder: Recorder) -> None:
        failure = ScopeFailure(registry="hub", repository="team/db", message="503 from registry")
        requests = [RequestCount(registry="hub", kind="manifest", count=3, bytes=900, errors=1)]

        run_id = recorder.run({LATEST: D1}, failures=[failure], requests=requests)

        assert store.run(run_id).status == "partial"
        assert store.failures(run_id) == (failure,)
        assert store.requests(run_id) == requests
        assert store.latest_run_id() == run_id

    def test_fail_run(self, store: AuditStore, recorder: Recorder) -> None:
        recorded = recorder.run({LATEST: D1})
        failed = store.start_run("2026-02-01T00:00:00+00:00", "test.yaml")

        store.fail_run(failed, "2026-02-01T00:01:00+00:00")

        run = store.run(failed)
        assert (run.status, run.finished_at) == ("failed", "2026-02-01T00:01:00+00:00")
        assert store.latest_run_id() == recorded
        assert count(store, "verdicts") == 1

    def test_latest_skips_failed_and_running_runs(
        self, store: AuditStore, recorder: Recorder
    ) -> None:
        assert store.latest_run_id() is None
        first = recorder.run({LATEST: D1})
        failed = store.start_run("2026-02-01T00:00:00+00:00", "test.yaml")
        store.fail_run(failed, "2026-02-01T00:01:00+00:00")
        running = store.start_run("2026-02-02T00:00:00+00:00", "test.yaml")

        assert store.latest_run_id() == first
        assert store.run(running).status == "running"
        assert store.previous_run_id(running) == first
        assert store.previous_run_id(first) is None

    def test_run_ids_increase(self, store: AuditStore) -> None:
        a = store.start_run("2026-01-01T00:00:00+00:00", "x")
        b = store.start_run("2026-01-02T00:00:00+00:00", "x")

        assert b > a
