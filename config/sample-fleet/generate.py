"""Deterministic generator of the bundled sample fleet (OCI image layouts).

Run from the repository root::

    python config/sample-fleet/generate.py [--output DIR]

It deletes the previously generated repository folders (every top-level folder holding an
``oci-layout`` file somewhere below), then writes one OCI image layout per repository
(``acme/api``, ``acme/web``, ...) and a ``README.md`` listing every tag, its digest and
the verdicts the auditor is expected to reach. Running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.oci import (  # noqa: E402
    ANNOTATION_BASE_DIGEST,
    ANNOTATION_BASE_NAME,
    MEDIA_OCI_MANIFEST,
    PREDICATE_CYCLONEDX,
    PREDICATE_SLSA_V02,
    PREDICATE_SLSA_V1,
    PREDICATE_SPDX,
    ContentStore,
    Descriptor,
    add_artifact,
    add_attestation_manifest,
    add_image,
    add_index,
    seeded_hex,
    write_layout,
)

BASE_NAME = "docker.io/library/alpine:3.20"
BASE_DIGEST = "sha256:" + seeded_hex("sample-fleet", BASE_NAME)
BUILDKIT_DEFAULT = (PREDICATE_SPDX, PREDICATE_SLSA_V02)


@dataclass(frozen=True)
class Expected:
    """One tag of the sample fleet with the verdicts the auditor should reach."""

    repository: str
    tag: str
    digest: str
    non_root: str
    """Expected verdict of ``default-non-root-user``."""
    supply_chain: str
    """Expected verdict of ``supply-chain-attestations``."""
    content: str
    """What the tag points at, in a few words."""


@dataclass(frozen=True)
class Repository:
    """A repository to write: its content, its tags and the blobs left out on purpose."""

    name: str
    store: ContentStore
    tags: dict[str, Descriptor]
    omit: frozenset[str]
    expected: tuple[Expected, ...]


def _platform_image(
    store: ContentStore,
    seed: str,
    user: str | None,
    arch: str,
    predicates: Sequence[str],
    *,
    oci_artifact: bool = False,
    docker: bool = False,
) -> tuple[Descriptor, Descriptor | None]:
    """Add one linux image (arm64 gets variant v8) and, if asked, its attestation manifest."""
    variant = "v8" if arch == "arm64" else None
    image = add_image(
        store,
        seed=f"{seed}/{arch}",
        user=user,
        architecture=arch,
        variant=variant,
        docker_media_types=docker,
        labels={"org.opencontainers.image.title": seed.split(":")[0]},
    )
    if not predicates:
        return image, None
    return image, add_attestation_manifest(store, image, predicates, oci_artifact=oci_artifact)


def _multi(
    store: ContentStore,
    seed: str,
    platforms: Sequence[tuple[str, str | None]],
    predicates: Sequence[str],
    *,
    oci_artifact: bool = False,
    docker: bool = False,
    annotations: dict[str, str] | None = None,
) -> tuple[Descriptor, list[Descriptor]]:
    """Add an index of (arch, user) images, attestation manifests listed after the images."""
    images: list[Descriptor] = []
    attestations: list[Descriptor] = []
    for arch, user in platforms:
        image, attestation = _platform_image(
            store, seed, user, arch, predicates, oci_artifact=oci_artifact, docker=docker
        )
        images.append(image)
        if attestation is not None:
            attestations.append(attestation)
    index = add_index(
        store, [*images, *attestations], annotations=annotations, docker_media_types=docker
    )
    return index, attestations


def acme_api() -> Repository:
    """Two releases, both platforms attested the BuildKit default way; ``latest`` = ``1.0``."""
    store = ContentStore()
    base = {ANNOTATION_BASE_NAME: BASE_NAME, ANNOTATION_BASE_DIGEST: BASE_DIGEST}
    platforms = [("amd64", "nonroot"), ("arm64", "nonroot")]
    v10, _ = _multi(store, "api:1.0", platforms, BUILDKIT_DEFAULT, annotations=base)
    v11, _ = _multi(store, "api:1.1", platforms, BUILDKIT_DEFAULT, annotations=base)
    what = "OCI index linux/amd64 + linux/arm64/v8, user nonroot, SPDX + SLSA v0.2 (legacy)"
    tags = {"1.0": v10, "latest": v10, "1.1": v11}
    expected = tuple(
        Expected("acme/api", tag, desc.digest, "compliant", "compliant", what)
        for tag, desc in tags.items()
    )
    return Repository("acme/api", store, tags, frozenset(), expected)


def acme_web() -> Repository:
    """One platform, attestations in the OCI-artifact layout (CycloneDX + SLSA v1)."""
    store = ContentStore()
    index, _ = _multi(
        store,
        "web:2.0",
        [("amd64", "101:101")],
        (PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1),
        oci_artifact=True,
    )
    what = "OCI index linux/amd64, user 101:101, CycloneDX + SLSA v1 (OCI-artifact layout)"
    expected = (Expected("acme/web", "2.0", index.digest, "compliant", "compliant", what),)
    return Repository("acme/web", store, {"2.0": index}, frozenset(), expected)


def acme_worker() -> Repository:
    """A bare single-platform manifest: no user, no attestations."""
    store = ContentStore()
    image, _ = _platform_image(store, "worker:2.3", None, "amd64", ())
    expected = (
        Expected(
            "acme/worker",
            "2.3",
            image.digest,
            "non_compliant (implicit root: User unset)",
            "non_compliant (no attestations)",
            "single OCI manifest linux/amd64, no index, User unset",
        ),
    )
    return Repository("acme/worker", store, {"2.3": image}, frozenset(), expected)


def acme_legacy() -> Repository:
    """A Docker manifest list, explicit root, SBOM but no provenance."""
    store = ContentStore()
    index, _ = _multi(store, "legacy:0.9", [("amd64", "root")], (PREDICATE_SPDX,), docker=True)
    expected = (
        Expected(
            "acme/legacy",
            "0.9",
            index.digest,
            "non_compliant (explicit root: User root)",
            "non_compliant (provenance missing; SPDX SBOM present)",
            "Docker manifest list, one Docker v2 manifest linux/amd64, user root, SPDX only",
        ),
    )
    return Repository("acme/legacy", store, {"0.9": index}, frozenset(), expected)


def acme_mixed() -> Repository:
    """Two platforms that disagree: amd64 runs as ``app``, arm64 as ``0``."""
    store = ContentStore()
    index, _ = _multi(store, "mixed:3.1", [("amd64", "app"), ("arm64", "0")], BUILDKIT_DEFAULT)
    expected = (
        Expected(
            "acme/mixed",
            "3.1",
            index.digest,
            "non_compliant (linux/arm64/v8 explicit root: User 0; linux/amd64 compliant)",
            "compliant",
            "OCI index, amd64 user app, arm64/v8 user 0, SPDX + SLSA v0.2 on both",
        ),
    )
    return Repository("acme/mixed", store, {"3.1": index}, frozenset(), expected)


def acme_broken() -> Repository:
    """Content the auditor must survive: broken JSON, a missing blob, a non-image artifact."""
    store = ContentStore()
    bad_config = add_image(
        store,
        seed="broken:bad-config/amd64",
        config_bytes=b'{"architecture":"amd64","os":"linux","config":{"User":"nonroot"',
    )
    truncated = b'{"schemaVersion":2,"mediaType":"' + MEDIA_OCI_MANIFEST.encode() + b'","config":{'
    bad_manifest = store.add(truncated, MEDIA_OCI_MANIFEST)
    missing, attestations = _multi(
        store, "broken:missing-attestation", [("amd64", "nonroot")], BUILDKIT_DEFAULT
    )
    chart = add_artifact(store, seed="acme-chart")
    tags = {
        "bad-config": bad_config,
        "bad-manifest": bad_manifest,
        "missing-attestation": missing,
        "chart": chart,
    }
    expected = (
        Expected(
            "acme/broken",
            "bad-config",
            bad_config.digest,
            "error (config blob is not valid JSON)",
            "non_compliant (no attestations)",
            "single OCI manifest whose config blob is truncated JSON",
        ),
        Expected(
            "acme/broken",
            "bad-manifest",
            bad_manifest.digest,
            "error (manifest is not valid JSON)",
            "error (manifest is not valid JSON)",
            "the tagged manifest blob itself is truncated JSON",
        ),
        Expected(
            "acme/broken",
            "missing-attestation",
            missing.digest,
            "compliant",
            "unknown (attestation manifest blob missing)",
            "OCI index linux/amd64 user nonroot; its attestation manifest blob "
            f"{attestations[0].digest} is not in the layout",
        ),
        Expected(
            "acme/broken",
            "chart",
            chart.digest,
            "unknown (not a container image)",
            "unknown (not a container image)",
            "OCI manifest of a Helm chart (config application/vnd.cncf.helm.config.v1+json)",
        ),
    )
    omit = frozenset(a.digest for a in attestations)
    return Repository("acme/broken", store, tags, omit, expected)


def build_fleet() -> list[Repository]:
    """Build every repository of the sample fleet in memory."""
    return [acme_api(), acme_web(), acme_worker(), acme_legacy(), acme_mixed(), acme_broken()]


README_INTRO = """\
# Sample fleet

Synthetic OCI image layouts for the auditor to audit (registry kind `layout`).
**Generated**: do not edit by hand; change `generate.py` and run, from the repository root,

    python config/sample-fleet/generate.py

which rewrites the repository folders and this file. The output is byte-identical from
run to run (no clock, no randomness; layers are tiny tar files in gzip with stored deflate
blocks, JSON is compact with sorted keys), so the digests below are stable.

Each folder holding an `oci-layout` file is one repository, named by its path relative to
this folder. Its `index.json` lists one entry per tag
(annotation `org.opencontainers.image.ref.name`); tags sharing a digest get one entry each.

## Repositories

- **acme/api**: OCI index with linux/amd64 and linux/arm64/v8 images running as `nonroot`,
  each with a legacy BuildKit attestation manifest (SPDX SBOM + SLSA provenance v0.2,
  mode=min). `latest` and `1.0` share a digest; `1.1` is a different build. Index
  annotations: `org.opencontainers.image.base.name` = `docker.io/library/alpine:3.20` and
  `org.opencontainers.image.base.digest` =
  `{base_digest}`.
- **acme/web**: OCI index with one linux/amd64 image running as `101:101`; its
  attestations use the OCI-artifact layout (`artifactType`
  `application/vnd.docker.attestation.manifest.v1+json`, empty config, `subject`) with a
  CycloneDX SBOM (`https://cyclonedx.org/bom`) and SLSA provenance v1.
- **acme/worker**: a single OCI image manifest (no index), `User` unset, no attestations.
- **acme/legacy**: Docker manifest list with one Docker v2 linux/amd64 manifest running as
  `root`, plus a legacy attestation manifest holding only an SPDX SBOM.
- **acme/mixed**: OCI index, linux/amd64 runs as `app`, linux/arm64/v8 as `0`; both
  platforms carry SPDX + SLSA v0.2.
- **acme/broken**: content the auditor must survive:
  `bad-config` (config blob is truncated JSON), `bad-manifest` (the tagged manifest blob is
  truncated JSON), `missing-attestation` (the index lists an attestation manifest whose blob
  is deliberately absent from `blobs/`), `chart` (a Helm chart, not a container image).

Policies: `default-non-root-user` (User unset, `root` or `0` is non-compliant: implicit or
explicit root; a multi-platform tag is non-compliant if any platform is) and
`supply-chain-attestations` (needs an SBOM and a provenance attestation).

## Tags, digests and expected verdicts

| repository | tag | digest | default-non-root-user | supply-chain-attestations | content |
| --- | --- | --- | --- | --- | --- |
"""


def render_readme(fleet: Sequence[Repository]) -> str:
    """Return the README text for ``fleet`` (intro plus the table of expectations)."""
    rows = [
        f"| {e.repository} | `{e.tag}` | `{e.digest}` | {e.non_root} | {e.supply_chain} "
        f"| {e.content} |\n"
        for repo in fleet
        for e in repo.expected
    ]
    return README_INTRO.format(base_digest=BASE_DIGEST) + "".join(rows)


def clean(output: Path) -> None:
    """Delete every top-level folder of ``output`` that holds an ``oci-layout`` file."""
    if not output.is_dir():
        return
    for child in sorted(output.iterdir()):
        if child.is_dir() and not child.is_symlink() and any(child.rglob("oci-layout")):
            shutil.rmtree(child)


def generate(output: Path) -> list[Repository]:
    """Clean ``output`` and write the whole sample fleet plus its README into it."""
    fleet = build_fleet()
    clean(output)
    output.mkdir(parents=True, exist_ok=True)
    for repo in fleet:
        write_layout(output / repo.name, repo.store, repo.tags, omit_blobs=repo.omit)
    (output / "README.md").write_text(render_readme(fleet), encoding="utf-8")
    return fleet


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: generate the fleet and print one line per tag."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--output", type=Path, default=HERE, help="folder to write into (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for repo in generate(args.output):
        for e in repo.expected:
            print(f"{e.repository}:{e.tag} {e.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
