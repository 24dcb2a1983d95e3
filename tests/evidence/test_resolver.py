"""Tests of `auditor.evidence.resolver.Resolver` over an in-memory content source."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

import pytest

from auditor.errors import ContentError, RegistryError
from auditor.evidence.attestations import PREDICATE_TYPE
from auditor.evidence.resolver import BASE_DIGEST, BASE_NAME, Resolver
from auditor.models import Digest, ImageFacts, PlatformFacts
from auditor.registries.interface import Manifest
from tests.support.oci import (
    MEDIA_OCI_INDEX,
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
    canonical_json,
    seeded_hex,
)

REPOSITORY = "team/app"


class FakeSource:
    """A `ContentSource` reading a `ContentStore`; some digests can be made unreadable."""

    def __init__(self, store: ContentStore, *, unreadable: Iterable[str] = ()) -> None:
        self.blobs = store.blobs
        self.unreadable = set(unreadable)
        self.corrupt: set[str] = set()
        self.manifests_read: list[str] = []
        self.blobs_read: list[str] = []

    def _get(self, repository: str, digest: str) -> bytes:
        assert repository == REPOSITORY
        if digest in self.unreadable or digest not in self.blobs:
            raise RegistryError(f"{repository}@{digest}: 404 not found")
        if digest in self.corrupt:
            raise ContentError(f"{repository}: blob {digest} does not match its digest")
        return self.blobs[digest]

    async def fetch_manifest(self, repository: str, digest: Digest) -> Manifest:
        self.manifests_read.append(digest)
        data = self._get(repository, digest)
        try:
            media_type = str(json.loads(data).get("mediaType", ""))
        except (ValueError, AttributeError):
            media_type = ""
        return Manifest(digest=digest, media_type=media_type, data=data)

    async def fetch_blob(self, repository: str, digest: Digest, *, max_bytes: int) -> bytes:
        self.blobs_read.append(digest)
        data = self._get(repository, digest)
        if len(data) > max_bytes:
            raise ContentError(f"{digest} is over {max_bytes} bytes")
        return data


def resolve(source: FakeSource, root: Descriptor | str) -> ImageFacts:
    digest = root if isinstance(root, str) else root.digest
    return asyncio.run(Resolver(source).resolve(REPOSITORY, Digest(digest)))


def by_platform(facts: ImageFacts) -> dict[str, PlatformFacts]:
    return {p.platform: p for p in facts.platforms}


def without_predicate_annotations(store: ContentStore, attestation: Descriptor) -> Descriptor:
    """Re-add `attestation` with its layers stripped of the predicate-type annotation."""
    body = json.loads(store.blobs[attestation.digest])
    for layer in body["layers"]:
        layer.pop("annotations", None)
    stripped = store.add_json(body, MEDIA_OCI_MANIFEST)
    return Descriptor(
        stripped.media_type,
        stripped.digest,
        stripped.size,
        platform=attestation.platform,
        annotations=attestation.annotations,
    )


class TestPlatforms:
    def test_multi_platform_index(self) -> None:
        store = ContentStore()
        amd = add_image(store, seed="mp", architecture="amd64", user="nonroot")
        arm = add_image(store, seed="mp", architecture="arm64", variant="v8")
        root = add_index(store, [amd, arm])

        facts = resolve(FakeSource(store), root)

        assert facts.digest == root.digest
        assert facts.media_type == MEDIA_OCI_INDEX
        assert facts.invalid is None
        assert facts.complete
        platforms = by_platform(facts)
        assert set(platforms) == {"linux/amd64", "linux/arm64/v8"}
        assert platforms["linux/amd64"].user == "nonroot"
        assert platforms["linux/amd64"].digest == amd.digest
        assert platforms["linux/arm64/v8"].user is None
        assert all(p.is_image for p in facts.platforms)
        assert all(p.attestations == () for p in facts.platforms)

    def test_single_manifest_takes_its_platform_from_the_config(self) -> None:
        store = ContentStore()
        image = add_image(
            store, seed="single", architecture="arm64", user="1000:1000", labels={"l": "v"}
        )

        facts = resolve(FakeSource(store), image)

        (platform,) = facts.platforms
        assert platform.platform == "linux/arm64"
        assert platform.digest == image.digest
        assert platform.user == "1000:1000"
        assert platform.labels == {"l": "v"}
        assert platform.created == "2026-01-01T00:00:00Z"

    def test_docker_manifest_list(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="docker", docker_media_types=True, user="app")
        root = add_index(store, [image], docker_media_types=True)

        (platform,) = resolve(FakeSource(store), root).platforms

        assert platform.is_image
        assert platform.user == "app"

    def test_invalid_top_level_manifest(self) -> None:
        store = ContentStore()
        broken = store.add(b'{"schemaVersion": 1, "mediaType": "x"}', MEDIA_OCI_MANIFEST)

        facts = resolve(FakeSource(store), broken)

        assert facts.invalid is not None
        assert facts.platforms == ()

    def test_invalid_platform_manifest(self) -> None:
        store = ContentStore()
        good = add_image(store, seed="good", user="app")
        junk = store.add(b"definitely not json", MEDIA_OCI_MANIFEST)
        junk_entry = Descriptor(
            junk.media_type,
            junk.digest,
            junk.size,
            platform={"os": "linux", "architecture": "s390x"},
        )
        root = add_index(store, [good, junk_entry])

        platforms = by_platform(resolve(FakeSource(store), root))

        assert platforms["linux/amd64"].invalid is None
        assert platforms["linux/s390x"].invalid is not None
        assert "JSON" in platforms["linux/s390x"].invalid

    def test_nested_index_entry_is_invalid(self) -> None:
        store = ContentStore()
        inner = add_index(store, [add_image(store, seed="inner")])
        entry = Descriptor(
            inner.media_type,
            inner.digest,
            inner.size,
            platform={"os": "linux", "architecture": "ppc64le"},
        )
        root = add_index(store, [entry])

        (platform,) = resolve(FakeSource(store), root).platforms

        assert platform.invalid is not None
        assert MEDIA_OCI_INDEX in platform.invalid

    def test_unreadable_image_manifest_raises(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="gone")
        root = add_index(store, [image])

        with pytest.raises(RegistryError):
            resolve(FakeSource(store, unreadable=[image.digest]), root)

    def test_unreadable_root_raises(self) -> None:
        with pytest.raises(RegistryError):
            resolve(FakeSource(ContentStore()), "sha256:" + seeded_hex("absent"))


class TestAttestations:
    def test_both_layouts_are_found_with_predicate_types(self) -> None:
        store = ContentStore()
        amd = add_image(store, seed="att", architecture="amd64")
        arm = add_image(store, seed="att", architecture="arm64")
        legacy = add_attestation_manifest(store, amd, [PREDICATE_SPDX, PREDICATE_SLSA_V02])
        artifact = add_attestation_manifest(
            store, arm, [PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1], oci_artifact=True
        )
        root = add_index(store, [amd, arm, legacy, artifact])

        facts = resolve(FakeSource(store), root)

        platforms = by_platform(facts)
        assert set(platforms) == {"linux/amd64", "linux/arm64"}, "attestations are no platforms"
        assert platforms["linux/amd64"].predicate_types == {PREDICATE_SPDX, PREDICATE_SLSA_V02}
        assert platforms["linux/arm64"].predicate_types == {PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1}
        assert {(a.manifest_digest, a.source) for a in platforms["linux/amd64"].attestations} == {
            (legacy.digest, "buildkit-index")
        }
        assert {(a.manifest_digest, a.source) for a in platforms["linux/arm64"].attestations} == {
            (artifact.digest, "buildkit-index (oci-artifact)")
        }
        assert facts.complete

    def test_predicate_annotation_is_trusted_without_reading_the_statement(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="annotated")
        attestation = add_attestation_manifest(store, image, [PREDICATE_SPDX])
        source = FakeSource(store)

        resolve(source, add_index(store, [image, attestation]))

        layers = json.loads(store.blobs[attestation.digest])["layers"]
        assert layers[0]["digest"] not in source.blobs_read

    def test_missing_predicate_annotation_reads_the_statement(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="plain")
        attestation = without_predicate_annotations(
            store, add_attestation_manifest(store, image, [PREDICATE_SPDX, PREDICATE_SLSA_V1])
        )
        root = add_index(store, [image, attestation])
        source = FakeSource(store)

        facts = resolve(source, root)

        (platform,) = facts.platforms
        assert platform.predicate_types == {PREDICATE_SPDX, PREDICATE_SLSA_V1}
        statement_digests = [
            layer["digest"] for layer in json.loads(store.blobs[attestation.digest])["layers"]
        ]
        assert set(statement_digests) <= set(source.blobs_read)
        assert PREDICATE_TYPE not in store.blobs[attestation.digest].decode()

    def test_statement_without_predicate_type_is_missing(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="bad-statement")
        statement = store.add_json({"_type": "https://in-toto.io/Statement/v0.1"}, "x")
        manifest = store.add_json(
            {
                "schemaVersion": 2,
                "mediaType": MEDIA_OCI_MANIFEST,
                "config": store.add_json({}, "application/vnd.oci.image.config.v1+json").to_json(),
                "layers": [
                    {
                        "mediaType": "application/vnd.in-toto+json",
                        "digest": statement.digest,
                        "size": statement.size,
                    }
                ],
            },
            MEDIA_OCI_MANIFEST,
        )
        entry = Descriptor(
            manifest.media_type,
            manifest.digest,
            manifest.size,
            annotations={
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": image.digest,
            },
        )

        facts = resolve(FakeSource(store), add_index(store, [image, entry]))

        (platform,) = facts.platforms
        assert platform.attestations == ()
        assert len(platform.missing) == 1
        assert manifest.digest in platform.missing[0]
        assert not facts.complete

    def test_unreadable_attestation_manifest_is_missing(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="unreadable", user="app")
        attestation = add_attestation_manifest(store, image, [PREDICATE_SPDX, PREDICATE_SLSA_V1])
        root = add_index(store, [image, attestation])

        facts = resolve(FakeSource(store, unreadable=[attestation.digest]), root)

        (platform,) = facts.platforms
        assert platform.attestations == ()
        assert len(platform.missing) == 1
        assert attestation.digest in platform.missing[0]
        assert platform.user == "app", "the image itself is still resolved"
        assert facts.complete is False

    def test_one_unreadable_attestation_manifest_keeps_the_others(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="two-att")
        sbom = add_attestation_manifest(store, image, [PREDICATE_SPDX])
        provenance = add_attestation_manifest(store, image, [PREDICATE_SLSA_V1], oci_artifact=True)
        root = add_index(store, [image, sbom, provenance])

        facts = resolve(FakeSource(store, unreadable=[provenance.digest]), root)

        (platform,) = facts.platforms
        assert platform.predicate_types == {PREDICATE_SPDX}
        assert len(platform.missing) == 1 and provenance.digest in platform.missing[0]
        assert not facts.complete

    def test_attestations_only_count_for_their_subject(self) -> None:
        store = ContentStore()
        amd = add_image(store, seed="subject", architecture="amd64")
        arm = add_image(store, seed="subject", architecture="arm64")
        root = add_index(store, [amd, arm, add_attestation_manifest(store, amd, [PREDICATE_SPDX])])

        platforms = by_platform(resolve(FakeSource(store), root))

        assert platforms["linux/amd64"].predicate_types == {PREDICATE_SPDX}
        assert platforms["linux/arm64"].predicate_types == frozenset()


class TestConfigsAndArtifacts:
    def test_invalid_config_is_a_config_error(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="badcfg", config_bytes=b"{not json")
        good = add_image(store, seed="badcfg", architecture="arm64", user="app")
        root = add_index(store, [image, good])

        facts = resolve(FakeSource(store), root)

        platforms = by_platform(facts)
        broken = platforms["linux/amd64"]
        assert broken.config_error is not None
        assert "JSON" in broken.config_error
        assert broken.invalid is None
        assert broken.user is None
        assert platforms["linux/arm64"].config_error is None

    def test_config_with_non_string_user(self) -> None:
        store = ContentStore()
        image = add_image(
            store,
            seed="intuser",
            config_bytes=canonical_json(
                {"os": "linux", "architecture": "amd64", "config": {"User": 0}}
            ),
        )

        (platform,) = resolve(FakeSource(store), image).platforms

        assert platform.config_error is not None
        assert "User" in platform.config_error

    def test_config_blob_failing_its_digest_is_not_cached_for_good(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="corrupt", user="app")
        config_digest = json.loads(store.blobs[image.digest])["config"]["digest"]
        source = FakeSource(store)
        source.corrupt.add(config_digest)

        facts = resolve(source, image)

        assert not facts.complete

    def test_artifact_is_not_an_image(self) -> None:
        store = ContentStore()
        chart = add_artifact(store, seed="chart")
        source = FakeSource(store)

        facts = resolve(source, chart)

        (platform,) = facts.platforms
        assert platform.is_image is False
        assert platform.config_media_type == "application/vnd.cncf.helm.config.v1+json"
        assert platform.user is None
        config_digest = json.loads(store.blobs[chart.digest])["config"]["digest"]
        assert config_digest not in source.blobs_read, "an artifact's config is not read"

    def test_artifact_inside_an_index(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="mixed", user="app")
        chart = add_artifact(store, seed="mixed-chart")
        entry = Descriptor(
            chart.media_type,
            chart.digest,
            chart.size,
            platform={"os": "linux", "architecture": "arm64"},
        )

        platforms = by_platform(resolve(FakeSource(store), add_index(store, [image, entry])))

        assert platforms["linux/amd64"].is_image is True
        assert platforms["linux/arm64"].is_image is False


class TestBaseImage:
    BASE = {BASE_NAME: "docker.io/library/alpine:3.20", BASE_DIGEST: "sha256:" + "cd" * 32}

    def test_from_index_annotations(self) -> None:
        store = ContentStore()
        root = add_index(store, [add_image(store, seed="base-idx")], annotations=self.BASE)

        facts = resolve(FakeSource(store), root)

        assert facts.base_name == self.BASE[BASE_NAME]
        assert facts.base_digest == self.BASE[BASE_DIGEST]
        assert facts.annotations == self.BASE

    def test_from_single_manifest_annotations(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="base-man", annotations=self.BASE)

        facts = resolve(FakeSource(store), image)

        assert (facts.base_name, facts.base_digest) == (
            self.BASE[BASE_NAME],
            self.BASE[BASE_DIGEST],
        )

    def test_from_config_labels(self) -> None:
        store = ContentStore()
        root = add_index(store, [add_image(store, seed="base-label", labels=self.BASE)])

        facts = resolve(FakeSource(store), root)

        assert (facts.base_name, facts.base_digest) == (
            self.BASE[BASE_NAME],
            self.BASE[BASE_DIGEST],
        )

    def test_annotations_win_over_labels(self) -> None:
        store = ContentStore()
        labels = {BASE_NAME: "docker.io/library/debian:12"}
        root = add_index(
            store, [add_image(store, seed="both", labels=labels)], annotations=self.BASE
        )

        assert resolve(FakeSource(store), root).base_name == self.BASE[BASE_NAME]

    def test_absent(self) -> None:
        store = ContentStore()
        facts = resolve(FakeSource(store), add_image(store, seed="nobase"))

        assert facts.base_name is None and facts.base_digest is None

    def test_from_platform_manifest_annotations_inside_an_index(self) -> None:
        store = ContentStore()
        root = add_index(store, [add_image(store, seed="base-plat", annotations=self.BASE)])

        facts = resolve(FakeSource(store), root)

        assert facts.base_name == self.BASE[BASE_NAME]


class TestFactsRoundTrip:
    def test_to_dict_from_dict(self) -> None:
        store = ContentStore()
        amd = add_image(store, seed="rt", user="app", labels={"a": "b"})
        arm = add_image(store, seed="rt", architecture="arm64", config_bytes=b"[]")
        chart = add_artifact(store, seed="rt-chart")
        sbom = add_attestation_manifest(store, amd, [PREDICATE_SPDX, PREDICATE_SLSA_V1])
        lost = add_attestation_manifest(store, arm, [PREDICATE_SPDX], oci_artifact=True)
        root = add_index(store, [amd, arm, chart, sbom, lost], annotations={"x": "y"})
        facts = resolve(FakeSource(store, unreadable=[lost.digest]), root)
        # Make sure every kind of field is exercised by the round trip.
        assert any(p.attestations for p in facts.platforms)
        assert any(p.missing for p in facts.platforms)
        assert any(p.config_error for p in facts.platforms)
        assert any(not p.is_image for p in facts.platforms)

        stored = json.loads(json.dumps(facts.to_dict()))
        again = ImageFacts.from_dict(stored)

        assert again == facts
        assert again.to_dict() == facts.to_dict()
        assert again.complete is facts.complete

    def test_invalid_facts_round_trip(self) -> None:
        facts = ImageFacts(digest=Digest("sha256:" + "ef" * 32), media_type="", invalid="broken")

        assert ImageFacts.from_dict(json.loads(json.dumps(facts.to_dict()))) == facts
