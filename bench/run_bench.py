"""Benchmark one cold and one warm audit run against a real local registry.

Starts the Debian ``docker-registry`` (distribution 2.8.2) on a loopback port in a
temporary folder, fills it with a synthetic fleet of ``--repos`` repositories of
``--tags`` tags each, then runs ``auditor.run.run_once`` twice on the unchanged registry:
cold (empty database) and warm. For each run it prints the wall time, the HTTP requests by
kind (absolute and per tag), bytes received, peak memory and the size of the history, and
it checks that the warm run reads no content and that the history did not grow.

The fleet shares digests the way real fleets do: each repository holds about ``tags / 4``
distinct images with several tags on each, one image of every repository is shared with
other repositories, and about two thirds of the images are multi-platform indexes
(linux/amd64 + linux/arm64, each with a BuildKit attestation manifest) while the rest are
single-platform manifests.

Run from the repository root::

    python bench/run_bench.py --repos 50 --tags 20

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auditor.config import Settings, load_config  # noqa: E402
from auditor.models import RequestCount  # noqa: E402
from auditor.run import RunOutcome, run_once  # noqa: E402
from tests.support.oci import (  # noqa: E402
    PREDICATE_SLSA_V1,
    PREDICATE_SPDX,
    ContentStore,
    Descriptor,
    add_attestation_manifest,
    add_image,
    add_index,
    push,
)
from tests.support.registry import RunningRegistry, start_registry  # noqa: E402

SHARED_IMAGES = 5
"""How many images are shared between repositories (slot 0 of repository r is shared
image ``r % SHARED_IMAGES``)."""

USERS: tuple[str | None, ...] = ("65532", None, "root")
"""Default users cycled through the images, so both verdicts of the non-root policy occur."""

LISTING_KINDS = ("catalog", "tags")
CONTENT_KINDS = ("manifest_get", "blob_get")
HISTORY_TABLES = ("tags", "verdicts", "facts")
MIB = 1024 * 1024


# -- the synthetic fleet ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upload:
    """One distinct image of a repository and every tag that points at it."""

    root: Descriptor
    tags: tuple[str, ...]


@dataclass(slots=True)
class Fleet:
    """The content of the whole fleet and what goes into each repository."""

    store: ContentStore = field(default_factory=ContentStore)
    repositories: dict[str, list[Upload]] = field(default_factory=dict)
    multi_platform: int = 0
    single_platform: int = 0

    @property
    def tag_count(self) -> int:
        """Tags across the fleet."""
        return sum(len(u.tags) for uploads in self.repositories.values() for u in uploads)

    @property
    def distinct_digests(self) -> int:
        """Distinct tagged digests across the fleet."""
        return len({u.root.digest for uploads in self.repositories.values() for u in uploads})


def _image(store: ContentStore, seed: str, number: int, multi_platform: bool) -> Descriptor:
    """One image: a single-platform manifest, or an index of two platforms + attestations."""
    user = USERS[number % len(USERS)]
    labels = {"org.opencontainers.image.title": seed}
    if not multi_platform:
        return add_image(store, seed=seed, user=user, labels=labels)
    # NOTE: every fourth index lacks provenance, so the supply-chain policy also fails some.
    predicates = [PREDICATE_SPDX] if number % 4 == 3 else [PREDICATE_SPDX, PREDICATE_SLSA_V1]
    entries: list[Descriptor] = []
    attestations: list[Descriptor] = []
    for architecture in ("amd64", "arm64"):
        platform = add_image(
            store,
            seed=f"{seed}/{architecture}",
            user=user,
            labels=labels,
            architecture=architecture,
        )
        entries.append(platform)
        attestations.append(
            add_attestation_manifest(store, platform, predicates, oci_artifact=number % 2 == 1)
        )
    return add_index(store, [*entries, *attestations])


def build_fleet(repositories: int, tags: int) -> Fleet:
    """Build the content of `repositories` × `tags` tags in memory (deterministic)."""
    fleet = Fleet()
    shared: dict[int, Descriptor] = {}
    distinct = max(1, (tags + 3) // 4)
    for r in range(repositories):
        name = f"bench/svc-{r:03d}"
        roots: list[Descriptor] = []
        for slot in range(distinct):
            if slot == 0:
                key = r % SHARED_IMAGES
                if key not in shared:
                    shared[key] = _image(fleet.store, f"shared-{key}", key, multi_platform=True)
                    fleet.multi_platform += 1
                roots.append(shared[key])
                continue
            number = r * distinct + slot
            multi = number % 3 != 0
            roots.append(_image(fleet.store, f"{name}/image-{slot}", number, multi))
            if multi:
                fleet.multi_platform += 1
            else:
                fleet.single_platform += 1
        names = ["latest" if t == 0 else f"1.{t}.0" for t in range(tags)]
        fleet.repositories[name] = [
            Upload(root, tuple(names[t] for t in range(tags) if t % distinct == slot))
            for slot, root in enumerate(roots)
        ]
    return fleet


def _push_repository(client: httpx.Client, base_url: str, fleet: Fleet, repository: str) -> int:
    """Push one repository: each image once, then its other tags by manifest PUT."""
    puts = 0
    for upload in fleet.repositories[repository]:
        first, *others = upload.tags
        push(client, base_url, repository, fleet.store, upload.root, first)
        data = fleet.store.blobs[upload.root.digest]
        headers = {"Content-Type": upload.root.media_type}
        for tag in others:
            url = f"{base_url}/v2/{repository}/manifests/{tag}"
            response = client.put(url, content=data, headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"PUT {url} answered {response.status_code}: {response.text}")
            puts += 1
    return puts


def fill(registry: RunningRegistry, fleet: Fleet, workers: int) -> None:
    """Push the fleet, one repository per task, `workers` at a time, over one client."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with (
        httpx.Client(trust_env=False, timeout=60.0, limits=limits) as client,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = [
            pool.submit(_push_repository, client, registry.url, fleet, name)
            for name in fleet.repositories
        ]
        for future in futures:
            future.result()


# -- running and measuring --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """Size of the database and the rows of the tables that hold history."""

    bytes: int
    rows: dict[str, int]


@dataclass(frozen=True, slots=True)
class Measured:
    """One measured run."""

    label: str
    outcome: RunOutcome
    seconds: float
    traced_peak: int | None
    maxrss_before: int
    maxrss_after: int
    history: History

    @property
    def by_kind(self) -> dict[str, RequestCount]:
        """Request counts of the (single) registry by kind."""
        merged: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in self.outcome.requests:
            entry = merged[r.kind]
            entry[0] += r.count
            entry[1] += r.bytes
            entry[2] += r.errors
        return {
            kind: RequestCount(registry="*", kind=kind, count=c, bytes=b, errors=e)
            for kind, (c, b, e) in sorted(merged.items())
        }

    def count(self, kind: str) -> int:
        """Requests of `kind` (0 when none were made)."""
        found = self.by_kind.get(kind)
        return found.count if found else 0

    @property
    def total_requests(self) -> int:
        """All requests of the run."""
        return sum(r.count for r in self.outcome.requests)

    @property
    def total_bytes(self) -> int:
        """All bytes received in the run (as declared by Content-Length)."""
        return sum(r.bytes for r in self.outcome.requests)


def maxrss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def history(database: Path) -> History:
    """Database size on disk (with any WAL) and row counts of the history tables."""
    size = sum(
        p.stat().st_size
        for p in (database, database.with_name(database.name + "-wal"))
        if p.exists()
    )
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = {
            table: int(connection.execute(f"select count(*) from {table}").fetchone()[0])
            for table in HISTORY_TABLES
        }
    return History(bytes=size, rows=rows)


def measured_run(settings: Settings, label: str, *, trace: bool) -> Measured:
    """Run the audit once, measuring time, Python allocations and peak RSS."""
    before = maxrss_bytes()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = run_once(settings, config_label=f"bench-{label}")
        seconds = time.perf_counter() - started
        traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    return Measured(
        label=label,
        outcome=outcome,
        seconds=seconds,
        traced_peak=traced_peak,
        maxrss_before=before,
        maxrss_after=maxrss_bytes(),
        history=history(settings.database),
    )


def write_config(folder: Path, url: str, concurrency: int | None) -> Path:
    """Write the auditor configuration for the bench registry; returns its path."""
    registry = [
        "  - name: bench",
        "    kind: oci",
        f"    url: {url}",
    ]
    if concurrency is not None:
        registry.append(f"    concurrency: {concurrency}")
    lines = [
        "database: audit.db",
        "registries:",
        *registry,
        "reports:",
        "  dir: reports",
        "  formats: [html, csv]",
    ]
    path = folder / "auditor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- printing and checking --------------------------------------------------------------


def print_run(run: Measured) -> None:
    """Print one run's figures."""
    record = run.outcome.run
    tags = record.tags

    def per_tag(n: int) -> float:
        return n / tags if tags else float("nan")

    print(f"\n== {run.label} run (run id {record.id}, status {record.status}) ==")
    print(f"wall time                 {run.seconds:9.2f} s")
    print(
        f"tags                      {tags:9d}   verdicts: {record.compliant} compliant, "
        f"{record.non_compliant} non-compliant, {record.unknown} unknown, {record.error} error"
    )
    print(f"scope failures            {len(run.outcome.failures):9d}")
    for failure in run.outcome.failures[:5]:
        print(f"  {failure.registry}/{failure.repository or '*'}: {failure.message}")
    print("requests by kind              count   per tag        bytes  errors")
    for kind, counted in run.by_kind.items():
        print(
            f"  {kind:<24}{counted.count:9d}  {per_tag(counted.count):8.3f}"
            f"  {counted.bytes:11d}  {counted.errors:6d}"
        )
    print(f"total requests            {run.total_requests:9d}")
    print(f"requests per tag          {per_tag(run.total_requests):9.3f}")
    print(
        f"bytes received            {run.total_bytes:9d}   "
        f"({run.total_bytes / MIB:.2f} MiB, {per_tag(run.total_bytes):.0f} per tag)"
    )
    if run.traced_peak is not None:
        print(
            f"peak Python allocations   {run.traced_peak / MIB:9.1f} MiB "
            "(tracemalloc peak during this run)"
        )
    else:
        print("peak Python allocations         n/a   (tracemalloc off: --no-tracemalloc)")
    print(
        f"peak RSS of the process   {run.maxrss_after / MIB:9.1f} MiB "
        f"(ru_maxrss, whole process so far; {run.maxrss_before / MIB:.1f} MiB before this run)"
    )
    rows = ", ".join(f"{table} {n}" for table, n in run.history.rows.items())
    print(f"database                  {run.history.bytes / MIB:9.2f} MiB   rows: {rows}")
    print(f"reports                   {run.outcome.report_dir}")


@dataclass(slots=True)
class Checks:
    """PASS/FAIL lines, printed as they are made."""

    failed: int = 0

    def check(self, ok: bool, what: str) -> None:
        """Record and print one check."""
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
        if not ok:
            self.failed += 1


def check_runs(cold: Measured, warm: Measured, expected_tags: int) -> Checks:
    """The checks on the warm run and on the history."""
    checks = Checks()
    print("\n== checks ==")
    for run in (cold, warm):
        checks.check(
            run.outcome.run.tags == expected_tags and not run.outcome.failures,
            f"{run.label} run audited {run.outcome.run.tags} of {expected_tags} tags "
            f"with {len(run.outcome.failures)} scope failures",
        )
    for kind in CONTENT_KINDS:
        checks.check(warm.count(kind) == 0, f"warm run made {warm.count(kind)} {kind} requests")
    listing = sum(warm.count(k) for k in LISTING_KINDS)
    bound = warm.outcome.run.tags + listing + warm.count("token")
    checks.check(
        warm.total_requests <= bound,
        f"warm run made {warm.total_requests} requests <= {bound} "
        f"(tags {warm.outcome.run.tags} + listing {listing} + token {warm.count('token')})",
    )
    for table in HISTORY_TABLES:
        before, after = cold.history.rows[table], warm.history.rows[table]
        checks.check(
            before == after, f"{table} rows unchanged by the warm run ({before} -> {after})"
        )
    return checks


# -- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repos", type=int, default=50, help="repositories (default 50)")
    parser.add_argument("--tags", type=int, default=20, help="tags per repository (default 20)")
    parser.add_argument(
        "--push-workers", type=int, default=8, help="threads pushing the fleet (default 8)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="the registry's concurrency in the auditor config (default: the auditor's own)",
    )
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="do not trace Python allocations (tracing slows the runs down)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.repos < 1 or args.tags < 1 or args.push_workers < 1:
        parser.error("--repos, --tags and --push-workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Fill a registry, run the audit cold and warm, print figures and checks."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    registry: RunningRegistry | None = None
    try:
        started = time.perf_counter()
        fleet = build_fleet(args.repos, args.tags)
        built = time.perf_counter() - started
        print(
            f"fleet: {len(fleet.repositories)} repositories x {args.tags} tags = "
            f"{fleet.tag_count} tags, {fleet.distinct_digests} distinct tagged digests "
            f"({fleet.multi_platform} indexes, {fleet.single_platform} single manifests), "
            f"{len(fleet.store.blobs)} distinct blobs and manifests, built in {built:.2f} s"
        )
        registry = start_registry(workdir / "registry")
        print(f"registry: {registry.url} (data in {registry.data_dir})")
        started = time.perf_counter()
        fill(registry, fleet, args.push_workers)
        print(
            f"fill: pushed in {time.perf_counter() - started:.2f} s "
            f"with {args.push_workers} threads"
        )
        expected_tags = fleet.tag_count
        del fleet

        settings = load_config(write_config(workdir, registry.url, args.concurrency))
        trace = not args.no_tracemalloc
        cold = measured_run(settings, "cold", trace=trace)
        print_run(cold)
        warm = measured_run(settings, "warm", trace=trace)
        print_run(warm)
        checks = check_runs(cold, warm, expected_tags)
        print(f"\n{'FAILED' if checks.failed else 'ALL PASSED'} ({checks.failed} failed)")
        return 1 if checks.failed else 0
    finally:
        if registry is not None:
            registry.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
