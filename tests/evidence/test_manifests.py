"""Tests of `auditor.evidence.manifests`: strict parsing of manifests, indexes and configs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.errors import ContentError
from auditor.evidence.manifests import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_config,
    parse_document,
    parse_statement_predicate_type,
    platform_name,
)
from tests.support.oci import ContentStore, add_image, add_index, canonical_json

HEX = "ab" * 32
DIGEST = f"sha256:{HEX}"


def descriptor(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": DIGEST,
        "size": 10,
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


def manifest(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [descriptor()],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def index(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            descriptor(mediaType=OCI_MANIFEST, platform={"os": "linux", "architecture": "arm64"})
        ],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def encode(body: object) -> bytes:
    return json.dumps(body).encode()


class TestParseDocument:
    def test_real_image_manifest(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="m", user="1000", annotations={"a": "b"})

        document = parse_document(store.blobs[image.digest], image.media_type)

        assert document.media_type == OCI_MANIFEST
        assert not document.is_index
        assert document.config is not None
        assert document.config.media_type == "application/vnd.oci.image.config.v1+json"
        assert document.config.digest in store.blobs
        assert len(document.layers) == 1
        assert document.annotations == {"a": "b"}

    def test_real_index(self) -> None:
        store = ContentStore()
        amd = add_image(store, seed="i", architecture="amd64")
        arm = add_image(store, seed="i", architecture="arm64", variant="v8")
        root = add_index(store, [amd, arm], annotations={"k": "v"})

        document = parse_document(store.blobs[root.digest], root.media_type)

        assert document.is_index
        assert [m.digest for m in document.manifests] == [amd.digest, arm.digest]
        assert [m.platform_name for m in document.manifests] == [
            "linux/amd64",
            "linux/arm64/v8",
        ]
        assert document.annotations == {"k": "v"}

    def test_docker_media_types(self) -> None:
        store = ContentStore()
        image = add_image(store, seed="d", docker_media_types=True)
        root = add_index(store, [image], docker_media_types=True)

        assert parse_document(store.blobs[image.digest], "").media_type == DOCKER_MANIFEST
        assert parse_document(store.blobs[root.digest], "").media_type == DOCKER_LIST

    def test_media_type_may_be_omitted(self) -> None:
        body = manifest(mediaType=None)

        assert parse_document(encode(body), "").media_type == OCI_MANIFEST
        assert parse_document(encode(index(mediaType=None)), "").is_index

    def test_artifact_type_and_subject(self) -> None:
        body = manifest(
            artifactType="application/vnd.example+json",
            subject=descriptor(mediaType=OCI_MANIFEST),
        )

        document = parse_document(encode(body), OCI_MANIFEST)

        assert document.artifact_type == "application/vnd.example+json"
        assert document.subject is not None
        assert document.subject.digest == DIGEST

    @pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'"text"'])
    def test_not_a_json_object(self, data: bytes) -> None:
        with pytest.raises(ContentError, match="JSON"):
            parse_document(data, OCI_MANIFEST)

    @pytest.mark.parametrize("version", [1, "2", None, 2.5, True])
    def test_schema_version_must_be_2(self, version: object) -> None:
        body = manifest()
        body["schemaVersion"] = version

        with pytest.raises(ContentError, match="schemaVersion"):
            parse_document(encode(body), OCI_MANIFEST)

    def test_unsupported_media_type_without_shape(self) -> None:
        body = {"schemaVersion": 2, "mediaType": "application/vnd.example"}

        with pytest.raises(ContentError, match="unsupported"):
            parse_document(encode(body), "application/vnd.example")

    def test_media_type_not_a_string(self) -> None:
        with pytest.raises(ContentError, match="mediaType"):
            parse_document(encode(manifest(mediaType=["x"])), OCI_MANIFEST)

    @pytest.mark.parametrize(
        "digest",
        [
            "sha256:" + "ab" * 31,  # too short
            "sha256:" + "AB" * 32,  # upper case
            "md5:" + "ab" * 16,
            "sha256:" + "zz" * 32,
            "sha256:" + "ab" * 32 + "0",
            "../../etc/passwd",
            "",
        ],
    )
    def test_bad_digest(self, digest: str) -> None:
        body = manifest(layers=[descriptor(digest=digest)])

        with pytest.raises(ContentError, match="invalid digest"):
            parse_document(encode(body), OCI_MANIFEST)

    def test_digest_with_trailing_newline(self) -> None:
        body = manifest(layers=[descriptor(digest=DIGEST + "\n")])

        with pytest.raises(ContentError, match="invalid digest"):
            parse_document(encode(body), OCI_MANIFEST)

    def test_bad_digest_in_index_entry(self) -> None:
        body = index(manifests=[descriptor(mediaType=OCI_MANIFEST, digest="sha256:nope")])

        with pytest.raises(ContentError, match="index entry"):
            parse_document(encode(body), OCI_INDEX)

    def test_bad_config_digest(self) -> None:
        body = manifest(config=descriptor(digest="sha256:x"))

        with pytest.raises(ContentError, match="config"):
            parse_document(encode(body), OCI_MANIFEST)

    @pytest.mark.parametrize("size", [-1, "10", 1.5, True, None])
    def test_bad_size(self, size: object) -> None:
        layer = descriptor()
        layer["size"] = size

        with pytest.raises(ContentError, match="size"):
            parse_document(encode(manifest(layers=[layer])), OCI_MANIFEST)

    def test_descriptor_without_media_type(self) -> None:
        layer = descriptor()
        del layer["mediaType"]

        with pytest.raises(ContentError, match="mediaType or digest"):
            parse_document(encode(manifest(layers=[layer])), OCI_MANIFEST)

    def test_manifest_without_config(self) -> None:
        body = manifest()
        del body["config"]

        with pytest.raises(ContentError, match="config"):
            parse_document(encode(body), OCI_MANIFEST)

    def test_layers_not_a_list(self) -> None:
        with pytest.raises(ContentError, match="layers"):
            parse_document(encode(manifest(layers={"a": 1})), OCI_MANIFEST)

    def test_layer_not_an_object(self) -> None:
        with pytest.raises(ContentError, match="descriptor"):
            parse_document(encode(manifest(layers=["sha256:" + HEX])), OCI_MANIFEST)

    def test_index_without_manifests_list(self) -> None:
        with pytest.raises(ContentError, match="manifests"):
            parse_document(encode(index(manifests={"x": 1})), OCI_INDEX)

    @pytest.mark.parametrize("annotations", [{"a": 1}, {"a": None}, ["a"], "a=b"])
    def test_annotations_must_be_strings(self, annotations: object) -> None:
        with pytest.raises(ContentError, match="annotations"):
            parse_document(encode(manifest(annotations=annotations)), OCI_MANIFEST)

    def test_descriptor_annotations_must_be_strings(self) -> None:
        body = manifest(layers=[descriptor(annotations={"in-toto.io/predicate-type": 3})])

        with pytest.raises(ContentError, match="annotations"):
            parse_document(encode(body), OCI_MANIFEST)


class TestParseConfig:
    def config(self, inner: object = None, **outer: Any) -> bytes:
        body: dict[str, Any] = {"architecture": "amd64", "os": "linux", **outer}
        if inner is not None:
            body["config"] = inner
        return canonical_json(body)

    def test_fields(self) -> None:
        parsed = parse_config(
            self.config(
                {"User": "1000:1000", "Labels": {"org.example": "yes"}},
                created="2026-01-02T03:04:05Z",
                variant="v8",
                architecture="arm64",
            )
        )

        assert parsed.user == "1000:1000"
        assert parsed.labels == {"org.example": "yes"}
        assert parsed.created == "2026-01-02T03:04:05Z"
        assert parsed.platform == "linux/arm64/v8"

    @pytest.mark.parametrize(
        ("inner", "user"),
        [
            ({}, None),
            ({"User": ""}, None),
            ({"User": "   "}, None),
            ({"User": " nonroot "}, "nonroot"),
            ({"User": "0"}, "0"),
            (None, None),
        ],
    )
    def test_user(self, inner: object, user: str | None) -> None:
        assert parse_config(self.config(inner)).user == user

    @pytest.mark.parametrize("value", [0, 1000, ["root"], {"name": "root"}, True])
    def test_user_must_be_a_string(self, value: object) -> None:
        with pytest.raises(ContentError, match="User"):
            parse_config(self.config({"User": value}))

    @pytest.mark.parametrize("labels", [{"a": 1}, {"a": None}, {"a": ["b"]}, ["a"], "a"])
    def test_labels_must_be_strings(self, labels: object) -> None:
        with pytest.raises(ContentError, match="Labels"):
            parse_config(self.config({"Labels": labels}))

    def test_null_labels_are_empty(self) -> None:
        assert parse_config(self.config({"Labels": None})).labels == {}

    def test_inner_config_must_be_an_object(self) -> None:
        with pytest.raises(ContentError, match="'config'"):
            parse_config(self.config("User=root"))

    @pytest.mark.parametrize("data", [b"not json", b"[]", b"null", b"\x00\x01"])
    def test_not_a_json_object(self, data: bytes) -> None:
        with pytest.raises(ContentError, match="image config"):
            parse_config(data)

    def test_platform_unknown_when_absent(self) -> None:
        assert parse_config(b'{"config": {}}').platform == "unknown"


class TestHelpers:
    @pytest.mark.parametrize(
        ("platform", "name"),
        [
            ({"os": "linux", "architecture": "amd64"}, "linux/amd64"),
            ({"os": "linux", "architecture": "arm", "variant": "v7"}, "linux/arm/v7"),
            ({"os": "linux"}, "unknown"),
            ({"os": 1, "architecture": "amd64"}, "unknown"),
            ({}, "unknown"),
        ],
    )
    def test_platform_name(self, platform: dict[str, Any], name: str) -> None:
        assert platform_name(platform) == name

    def test_statement_predicate_type(self) -> None:
        statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://x/y"}

        assert parse_statement_predicate_type(encode(statement)) == "https://x/y"

    @pytest.mark.parametrize("predicate_type", [None, "", 5])
    def test_statement_without_predicate_type(self, predicate_type: object) -> None:
        statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate_type}

        with pytest.raises(ContentError, match="predicateType"):
            parse_statement_predicate_type(encode(statement))
