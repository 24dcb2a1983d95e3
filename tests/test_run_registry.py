"""End-to-end runs against a real ``docker-registry`` process (distribution 2.8.2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from auditor.cli import ExitCode, main
from auditor.config import load_config
from auditor.registries.distribution import DistributionClient
from auditor.run import run_once
from tests.helpers import (
    expected_statuses,
    push_sample_fleet,
    request_counts,
    table_sizes,
    verdicts_of_run,
)
from tests.support.fixtures import RegistryFactory
from tests.support.registry import HtpasswdAuth, RunningRegistry, TokenAuth, push_auth

USERS = {"auditor": "s3cret-pass"}


def oci_config(write_config: Callable[[str], Path], url: str, extra: str = "") -> Path:
    return write_config(
        f"""
database: audit.db
registries:
  - name: local
    kind: oci
    url: {url}
    page_size: 50
{extra}
reports: {{dir: reports}}
"""
    )


def credentials_config(
    write_config: Callable[[str], Path], url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Export the auditor's credentials as REG_USER, REG_PASSWORD; write a config reading them."""
    monkeypatch.setenv("REG_USER", "auditor")
    monkeypatch.setenv("REG_PASSWORD", USERS["auditor"])
    return oci_config(
        write_config, url, "    credentials: {username_env: REG_USER, password_env: REG_PASSWORD}"
    )


def push_as_auditor(fleet_module: ModuleType, registry: RunningRegistry) -> list[object]:
    """Push the sample fleet to a registry that needs the auditor's credentials."""
    return push_sample_fleet(
        fleet_module, registry, push_auth(registry, "auditor", USERS["auditor"])
    )


class TestAnonymousRegistry:
    def test_verdicts_match_the_fleet_and_warm_run_fetches_nothing(
        self,
        registry: RunningRegistry,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
    ) -> None:
        expected = push_sample_fleet(sample_fleet, registry)
        path = oci_config(write_config, registry.url)

        assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
        database = path.parent / "audit.db"
        assert verdicts_of_run(database, 1) == expected_statuses(expected)
        cold = request_counts(database, 1)
        assert cold["manifest_get"] > 0 and cold["blob_get"] > 0
        sizes = table_sizes(database)

        assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
        warm = request_counts(database, 2)
        tags = len(expected)
        assert warm.get("manifest_get", 0) == 0
        assert warm.get("blob_get", 0) == 0
        assert warm["manifest_head"] == tags
        assert warm["manifest_head"] + warm["catalog"] + warm["tags"] == sum(warm.values())
        assert table_sizes(database) == sizes
        assert verdicts_of_run(database, 2) == verdicts_of_run(database, 1)

    def test_multi_platform_detail_is_kept(
        self,
        registry: RunningRegistry,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
    ) -> None:
        push_sample_fleet(sample_fleet, registry)
        settings = load_config(oci_config(write_config, registry.url))
        outcome = run_once(settings, config_label="test")
        csv_text = (outcome.report_dir / "results.csv").read_text()  # type: ignore[operator]
        mixed = [line for line in csv_text.splitlines() if ",acme/mixed,3.1," in line]
        non_root = next(line for line in mixed if "default-non-root-user" in line)
        assert ",non_compliant," in non_root
        assert "linux/amd64=compliant" in non_root and "linux/arm64/v8=non_compliant" in non_root
        assert "explicitly" in non_root

    def test_moved_tag_opens_a_new_interval(
        self,
        registry: RunningRegistry,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
    ) -> None:
        fleet = {r.name: r for r in sample_fleet.build_fleet()}
        worker, api = fleet["acme/worker"], fleet["acme/api"]
        import httpx

        from tests.support.oci import push

        with httpx.Client() as client:
            push(client, registry.url, "acme/app", worker.store, worker.tags["2.3"], "stable")
        path = oci_config(write_config, registry.url)
        main(["run", "--config", str(path)])
        with httpx.Client() as client:
            push(client, registry.url, "acme/app", api.store, api.tags["1.0"], "stable")
        main(["run", "--config", str(path)])

        from sqlite_utils import Database

        db = Database(path.parent / "audit.db")
        rows = list(db.query("select digest, first_seen_run, ended_run from tags order by id"))
        assert [(r["first_seen_run"], r["ended_run"]) for r in rows] == [(1, 2), (2, None)]
        assert rows[0]["digest"] != rows[1]["digest"]
        statuses = verdicts_of_run(path.parent / "audit.db", 2)
        assert statuses[("acme/app", "stable", "default-non-root-user")] == "compliant"
        assert (
            verdicts_of_run(path.parent / "audit.db", 1)[
                ("acme/app", "stable", "default-non-root-user")
            ]
            == "non_compliant"
        )


class TestAuthentication:
    def test_htpasswd_basic_auth(
        self,
        registry_factory: RegistryFactory,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        registry = registry_factory(auth=HtpasswdAuth(USERS))
        expected = push_as_auditor(sample_fleet, registry)
        path = credentials_config(write_config, registry.url, monkeypatch)
        assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
        assert verdicts_of_run(path.parent / "audit.db", 1) == expected_statuses(expected)
        # NOTE: the scheme is remembered, so only the very first request meets a 401.
        assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
        warm = request_counts(path.parent / "audit.db", 2)
        assert warm["manifest_head"] == len(expected)
        _assert_secret_absent(path.parent, USERS["auditor"])

    def test_wrong_password_is_a_partial_run_not_an_empty_fleet(
        self,
        registry_factory: RegistryFactory,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        registry = registry_factory(auth=HtpasswdAuth(USERS))
        push_as_auditor(sample_fleet, registry)
        path = credentials_config(write_config, registry.url, monkeypatch)
        main(["run", "--config", str(path)])
        monkeypatch.setenv("REG_PASSWORD", "wrong")
        assert main(["run", "--config", str(path)]) == ExitCode.PARTIAL
        statuses = verdicts_of_run(path.parent / "audit.db", 2)
        assert statuses and set(statuses.values()) == {"unknown"}
        assert table_sizes(path.parent / "audit.db")["tags"] == len(statuses) // 2

    def test_token_auth_caches_one_token_per_scope(
        self,
        registry_factory: RegistryFactory,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        registry = registry_factory(auth=TokenAuth(USERS))
        expected = push_as_auditor(sample_fleet, registry)
        assert registry.token_service is not None
        registry.token_service.requests.clear()
        path = credentials_config(write_config, registry.url, monkeypatch)
        assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
        assert verdicts_of_run(path.parent / "audit.db", 1) == expected_statuses(expected)
        repositories = {e.repository for e in expected}  # type: ignore[attr-defined]
        requested = [r for r in registry.token_service.requests if r.granted]
        scopes = sorted(s for r in requested for s in r.scopes)
        # one token for the catalog and one per repository, however many requests each made
        assert len(requested) == len(repositories) + 1
        assert scopes.count("registry:catalog:*") == 1
        assert request_counts(path.parent / "audit.db", 1)["token"] == len(requested)
        _assert_secret_absent(path.parent, USERS["auditor"])

    def test_anonymous_access_to_a_token_registry_is_unknown(
        self,
        registry_factory: RegistryFactory,
        write_config: Callable[[str], Path],
    ) -> None:
        registry = registry_factory(auth=TokenAuth(USERS))
        path = oci_config(write_config, registry.url)
        assert main(["run", "--config", str(path)]) == ExitCode.PARTIAL


def test_catalog_pagination_with_small_maxentries(
    registry_factory: RegistryFactory, sample_fleet: ModuleType, write_config: Callable[[str], Path]
) -> None:
    registry = registry_factory(catalog_max_entries=2)
    expected = push_sample_fleet(sample_fleet, registry)
    path = oci_config(write_config, registry.url)
    assert main(["run", "--config", str(path)]) == ExitCode.NON_COMPLIANT
    repositories = {e.repository for e in expected}  # type: ignore[attr-defined]
    assert {k[0] for k in verdicts_of_run(path.parent / "audit.db", 1)} == repositories
    # page_size 50 is refused by maxentries 2, then the registry's own pages are followed
    assert request_counts(path.parent / "audit.db", 1)["catalog"] >= len(repositories) // 2 + 1


class TestRegistryFailures:
    def test_registry_down_makes_known_tags_unknown_and_keeps_history(
        self,
        registry: RunningRegistry,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
    ) -> None:
        push_sample_fleet(sample_fleet, registry)
        path = oci_config(write_config, registry.url)
        database = path.parent / "audit.db"
        main(["run", "--config", str(path)])
        first = verdicts_of_run(database, 1)
        sizes = table_sizes(database)
        registry.stop()

        assert main(["run", "--config", str(path)]) == ExitCode.PARTIAL
        second = verdicts_of_run(database, 2)
        assert second.keys() == first.keys()
        assert set(second.values()) == {"unknown"}
        assert verdicts_of_run(database, 1) == first
        assert table_sizes(database)["tags"] == sizes["tags"]
        from sqlite_utils import Database

        db = Database(database)
        assert (
            db.execute("select count(*) from tags where ended_run is not null").fetchone()[0] == 0
        )
        assert db.execute("select status from runs where id = 2").fetchone()[0] == "partial"

        registry.start()
        main(["run", "--config", str(path)])
        assert verdicts_of_run(database, 3) == first

    def test_registry_stopped_mid_way(
        self,
        registry: RunningRegistry,
        sample_fleet: ModuleType,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        push_sample_fleet(sample_fleet, registry)
        path = oci_config(write_config, registry.url)
        database = path.parent / "audit.db"
        main(["run", "--config", str(path)])
        first = verdicts_of_run(database, 1)

        # The registry is killed after the listing succeeded, at the first digest lookup.
        original = DistributionClient.head_manifest

        async def stop_then_head(self: DistributionClient, repository: str, reference: str) -> str:
            registry.stop()
            return await original(self, repository, reference)

        monkeypatch.setattr(DistributionClient, "head_manifest", stop_then_head)
        assert main(["run", "--config", str(path)]) == ExitCode.PARTIAL
        second = verdicts_of_run(database, 2)
        assert second.keys() == first.keys()
        assert set(second.values()) == {"unknown"}
        assert verdicts_of_run(database, 1) == first
        from sqlite_utils import Database

        db = Database(database)
        assert (
            db.execute("select count(*) from tags where ended_run is not null").fetchone()[0] == 0
        )
        failures = db.execute("select count(*) from run_errors where run_id = 2").fetchone()[0]
        assert failures == len({k[0] for k in first})


def _assert_secret_absent(folder: Path, secret: str) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            assert secret.encode() not in (Path(root) / name).read_bytes(), name
