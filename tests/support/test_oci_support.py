"""Tests of the synthetic OCI builder (``tests.support.oci``) and the sample-fleet generator."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.oci import (
    ANNOTATION_PREDICATE_TYPE,
    ANNOTATION_REF_NAME,
    ANNOTATION_REFERENCE_DIGEST,
    ANNOTATION_REFERENCE_TYPE,
    ARTIFACT_DOCKER_ATTESTATION,
    EMPTY_DIGEST,
    MEDIA_DOCKER_CONFIG,
    MEDIA_DOCKER_LAYER,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_HELM_CONFIG,
    MEDIA_INTOTO,
    MEDIA_OCI_CONFIG,
    MEDIA_OCI_EMPTY,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_LAYER,
    MEDIA_OCI_MANIFEST,
    PREDICATE_CYCLONEDX,
    PREDICATE_SLSA_V02,
    PREDICATE_SLSA_V1,
    PREDICATE_SPDX,
    ContentStore,
    Descriptor,
    PushError,
    add_artifact,
    add_attestation_manifest,
    add_image,
    add_index,
    push,
    walk,
    write_layout,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FLEET_DIR = REPO_ROOT / "config" / "sample-fleet"
GENERATOR = FLEET_DIR / "generate.py"
REGISTRY_BIN = Path("/usr/bin/docker-registry")
ACCEPT_ALL = ", ".join(
    [MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST]
)


def _json(store: ContentStore, desc: Descriptor) -> Any:
    return json.loads(store.blobs[desc.digest])


def _multi_platform(store: ContentStore, *, oci_artifact: bool = False) -> Descriptor:
    """An index with two attested platforms, like ``docker buildx build --sbom --provenance``."""
    amd = add_image(store, seed="t/amd64", user="nonroot")
    arm = add_image(store, seed="t/arm64", user="nonroot", architecture="arm64", variant="v8")
    atts = [
        add_attestation_manifest(
            store, img, [PREDICATE_SPDX, PREDICATE_SLSA_V02], oci_artifact=oci_artifact
        )
        for img in (amd, arm)
    ]
    return add_index(store, [amd, arm, *atts], annotations={"a": "b"})


def _tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


# --- builder --------------------------------------------------------------------------


def test_add_returns_sha256_of_bytes() -> None:
    store = ContentStore()
    desc = store.add(b"hello", "application/octet-stream")
    assert desc.digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert desc.size == 5
    assert store.blobs[desc.digest] == b"hello"
    jdesc = store.add_json({"b": 1, "a": [1, 2]}, MEDIA_OCI_CONFIG)
    assert store.blobs[jdesc.digest] == b'{"a":[1,2],"b":1}'
    assert jdesc.to_json() == {"mediaType": MEDIA_OCI_CONFIG, "digest": jdesc.digest, "size": 17}


def test_descriptor_to_json_optional_fields() -> None:
    desc = Descriptor("m", "sha256:00", 1, {"os": "linux"}, {"k": "v"}, "t")
    assert desc.to_json() == {
        "mediaType": "m",
        "digest": "sha256:00",
        "size": 1,
        "platform": {"os": "linux"},
        "annotations": {"k": "v"},
        "artifactType": "t",
    }


def test_add_image_oci() -> None:
    store = ContentStore()
    desc = add_image(store, seed="s", architecture="arm64", variant="v8", layers=2)
    assert desc.media_type == MEDIA_OCI_MANIFEST
    assert desc.platform == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    manifest = _json(store, desc)
    assert manifest["mediaType"] == MEDIA_OCI_MANIFEST and manifest["schemaVersion"] == 2
    assert manifest["config"]["mediaType"] == MEDIA_OCI_CONFIG
    config = json.loads(store.blobs[manifest["config"]["digest"]])
    assert "User" not in config["config"]
    assert (config["os"], config["architecture"], config["variant"]) == ("linux", "arm64", "v8")
    assert config["created"] == "2026-01-01T00:00:00Z"
    assert len(manifest["layers"]) == 2
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        assert layer["mediaType"] == MEDIA_OCI_LAYER
        blob = store.blobs[layer["digest"]]
        assert layer["size"] == len(blob)
        tar = gzip.decompress(blob)
        assert "sha256:" + hashlib.sha256(tar).hexdigest() == diff_id
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            names = archive.getnames()
            assert len(names) == 1
            member = archive.extractfile(names[0])
            assert member is not None and b"seed=s" in member.read()


def test_add_image_docker_user_labels_annotations() -> None:
    store = ContentStore()
    desc = add_image(
        store,
        seed="d",
        user="root",
        labels={"l": "1"},
        docker_media_types=True,
        annotations={"x": "y"},
    )
    assert desc.media_type == MEDIA_DOCKER_MANIFEST
    manifest = _json(store, desc)
    assert manifest["mediaType"] == MEDIA_DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == MEDIA_DOCKER_CONFIG
    assert manifest["layers"][0]["mediaType"] == MEDIA_DOCKER_LAYER
    assert manifest["annotations"] == {"x": "y"}
    config = json.loads(store.blobs[manifest["config"]["digest"]])
    assert config["config"]["User"] == "root"
    assert config["config"]["Labels"] == {"l": "1"}


def test_add_image_config_bytes_override() -> None:
    store = ContentStore()
    desc = add_image(store, seed="x", config_bytes=b"{nope")
    assert store.blobs[_json(store, desc)["config"]["digest"]] == b"{nope"


def test_different_seeds_give_different_layers() -> None:
    store = ContentStore()
    a, b = add_image(store, seed="a"), add_image(store, seed="b")
    assert _json(store, a)["layers"] != _json(store, b)["layers"]


def test_attestation_manifest_legacy_layout() -> None:
    store = ContentStore()
    image = add_image(store, seed="s", user="nonroot")
    att = add_attestation_manifest(store, image, [PREDICATE_SPDX, PREDICATE_SLSA_V02])
    assert att.platform == {"architecture": "unknown", "os": "unknown"}
    assert att.annotations == {
        ANNOTATION_REFERENCE_TYPE: "attestation-manifest",
        ANNOTATION_REFERENCE_DIGEST: image.digest,
    }
    manifest = _json(store, att)
    assert manifest["config"]["mediaType"] == MEDIA_OCI_CONFIG
    assert "artifactType" not in manifest and "subject" not in manifest
    types = []
    for layer in manifest["layers"]:
        assert layer["mediaType"] == MEDIA_INTOTO
        statement = json.loads(store.blobs[layer["digest"]])
        assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
        assert statement["predicateType"] == layer["annotations"][ANNOTATION_PREDICATE_TYPE]
        assert statement["subject"] == [{"name": "_", "digest": {"sha256": image.digest[7:]}}]
        assert statement["predicate"]
        types.append(statement["predicateType"])
    assert types == [PREDICATE_SPDX, PREDICATE_SLSA_V02]


def test_attestation_manifest_oci_artifact_layout() -> None:
    store = ContentStore()
    image = add_image(store, seed="s", user="nonroot")
    att = add_attestation_manifest(
        store, image, [PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1], oci_artifact=True
    )
    manifest = _json(store, att)
    assert manifest["artifactType"] == ARTIFACT_DOCKER_ATTESTATION
    assert manifest["config"] == {"mediaType": MEDIA_OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2}
    assert store.blobs[EMPTY_DIGEST] == b"{}"
    assert manifest["subject"] == {
        "mediaType": MEDIA_OCI_MANIFEST,
        "digest": image.digest,
        "size": image.size,
    }
    assert att.annotations is not None
    assert att.annotations[ANNOTATION_REFERENCE_DIGEST] == image.digest


def test_add_artifact_and_index() -> None:
    store = ContentStore()
    chart = add_artifact(store, seed="c")
    manifest = _json(store, chart)
    assert manifest["config"]["mediaType"] == MEDIA_HELM_CONFIG
    assert "artifactType" not in manifest
    typed = add_artifact(store, seed="c", artifact_type="application/x-thing")
    assert _json(store, typed)["artifactType"] == "application/x-thing"
    assert typed.artifact_type == "application/x-thing"
    index = add_index(store, [chart], docker_media_types=True)
    assert index.media_type == MEDIA_DOCKER_LIST
    assert _json(store, index)["manifests"] == [chart.to_json()]


def test_builds_are_deterministic() -> None:
    first, second = ContentStore(), ContentStore()
    assert _multi_platform(first) == _multi_platform(second)
    assert first.blobs == second.blobs
    other_layout = _multi_platform(ContentStore(), oci_artifact=True)
    assert other_layout.digest != _multi_platform(first).digest


def test_walk_is_children_first_and_skips_unparsable_manifests() -> None:
    store = ContentStore()
    root = _multi_platform(store)
    order = [d.digest for d in walk(store, [root])]
    assert order[-1] == root.digest
    assert len(order) == len(set(order))
    broken = store.add(b'{"schemaVersion":', MEDIA_OCI_MANIFEST)
    assert list(walk(store, [broken])) == [broken]
    with pytest.raises(KeyError):
        list(walk(store, [Descriptor(MEDIA_OCI_MANIFEST, "sha256:" + "0" * 64, 1)]))


# --- layouts --------------------------------------------------------------------------


def _check_layout(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Assert ``path`` is a well-formed layout; return its index.json and its blobs."""
    assert json.loads((path / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((path / "index.json").read_bytes())
    assert index["schemaVersion"] == 2 and index["mediaType"] == MEDIA_OCI_INDEX
    blobs = {}
    for blob in (path / "blobs" / "sha256").iterdir():
        data = blob.read_bytes()
        assert hashlib.sha256(data).hexdigest() == blob.name
        blobs["sha256:" + blob.name] = data
    return index, blobs


def test_write_layout(tmp_path: Path) -> None:
    store = ContentStore()
    root = _multi_platform(store)
    single = add_image(store, seed="single")
    unreachable = store.add(b"not referenced", "application/octet-stream")
    write_layout(tmp_path, store, {"1.0": root, "latest": root, "single": single})
    index, blobs = _check_layout(tmp_path)
    refs = {m["annotations"][ANNOTATION_REF_NAME]: m["digest"] for m in index["manifests"]}
    assert refs == {"1.0": root.digest, "latest": root.digest, "single": single.digest}
    assert set(blobs) == {d.digest for d in walk(store, [root, single])}
    assert unreachable.digest not in blobs
    for digest, data in blobs.items():
        assert store.blobs[digest] == data


def test_write_layout_omit_blobs(tmp_path: Path) -> None:
    store = ContentStore()
    image = add_image(store, seed="s", user="nonroot")
    att = add_attestation_manifest(store, image, [PREDICATE_SPDX, PREDICATE_SLSA_V02])
    root = add_index(store, [image, att])
    write_layout(tmp_path, store, {"t": root}, omit_blobs=[att.digest])
    _, blobs = _check_layout(tmp_path)
    statements = {layer["digest"] for layer in _json(store, att)["layers"]}
    assert att.digest not in blobs
    assert not statements & set(blobs)
    assert {root.digest, image.digest} <= set(blobs)


def test_write_layout_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        store = ContentStore()
        write_layout(tmp_path / name, store, {"x": _multi_platform(store, oci_artifact=True)})
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


# --- generator ------------------------------------------------------------------------


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sample_fleet_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _run_generator(output: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--output", str(output)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )


def test_generator_is_deterministic_and_matches_committed_fleet(tmp_path: Path) -> None:
    _run_generator(tmp_path / "one")
    _run_generator(tmp_path / "two")
    one = _tree(tmp_path / "one")
    assert one == _tree(tmp_path / "two")
    assert sum(len(b) for b in one.values()) < 200_000
    committed = {
        name: data
        for name, data in _tree(FLEET_DIR).items()
        if name != "generate.py" and "__pycache__" not in name
    }
    assert committed == one, "config/sample-fleet is stale: run config/sample-fleet/generate.py"


def test_generator_cleans_only_generated_folders(tmp_path: Path) -> None:
    (tmp_path / "stale" / "repo").mkdir(parents=True)
    (tmp_path / "stale" / "repo" / "oci-layout").write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("keep")
    _run_generator(tmp_path)
    assert not (tmp_path / "stale").exists()
    assert (tmp_path / "notes" / "keep.txt").read_text() == "keep"


def test_generated_fleet_shape(tmp_path: Path) -> None:
    generator = _load_generator()
    fleet = {repo.name: repo for repo in generator.generate(tmp_path)}
    assert set(fleet) == {
        "acme/api",
        "acme/web",
        "acme/worker",
        "acme/legacy",
        "acme/mixed",
        "acme/broken",
    }
    layouts = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("oci-layout"))
    assert layouts == sorted(fleet)
    api = fleet["acme/api"].tags
    assert api["latest"] == api["1.0"] != api["1.1"]

    broken_index, broken_blobs = _check_layout(tmp_path / "acme" / "broken")
    refs = {m["annotations"][ANNOTATION_REF_NAME]: m for m in broken_index["manifests"]}
    assert set(refs) == {"bad-config", "bad-manifest", "missing-attestation", "chart"}
    with pytest.raises(ValueError):
        json.loads(broken_blobs[refs["bad-manifest"]["digest"]])
    missing = json.loads(broken_blobs[refs["missing-attestation"]["digest"]])
    att = [m for m in missing["manifests"] if ANNOTATION_REFERENCE_TYPE in m.get("annotations", {})]
    assert len(att) == 1 and att[0]["digest"] not in broken_blobs

    legacy_index, legacy_blobs = _check_layout(tmp_path / "acme" / "legacy")
    legacy = json.loads(legacy_blobs[legacy_index["manifests"][0]["digest"]])
    assert legacy["mediaType"] == MEDIA_DOCKER_LIST
    assert legacy["manifests"][0]["mediaType"] == MEDIA_DOCKER_MANIFEST

    readme = (tmp_path / "README.md").read_text()
    for repo in fleet.values():
        for expected in repo.expected:
            assert expected.digest in readme


# --- push -----------------------------------------------------------------------------


def test_push_with_mock_registry_joins_location_and_skips_existing_blobs() -> None:
    store = ContentStore()
    image = add_image(store, seed="p")
    existing = _json(store, image)["layers"][0]["digest"]
    seen: list[str] = []
    stored: dict[str, bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        path = request.url.path
        if request.method == "HEAD":
            return httpx.Response(200 if path.endswith(existing) else 404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/upload/1?_state=abc"})
        if request.method == "PUT" and path.startswith("/upload/"):
            assert request.url.params["_state"] == "abc"
            stored[request.url.params["digest"]] = request.content
            return httpx.Response(201)
        if request.method == "PUT" and "/manifests/" in path:
            assert request.headers["Content-Type"] == MEDIA_OCI_MANIFEST
            return httpx.Response(201)
        return httpx.Response(500, text="unexpected")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        push(client, "http://reg.test/", "team/app", store, image, "v1")
    config = _json(store, image)["config"]["digest"]
    assert stored == {config: store.blobs[config]}
    assert seen[-2:] == [
        f"PUT http://reg.test/v2/team/app/manifests/{image.digest}",
        "PUT http://reg.test/v2/team/app/manifests/v1",
    ]

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text='{"errors":[{"code":"MANIFEST_INVALID"}]}')

    with (
        httpx.Client(transport=httpx.MockTransport(failing)) as client,
        pytest.raises(PushError, match="MANIFEST_INVALID"),
    ):
        push(client, "http://reg.test", "team/app", store, image, None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def _registry(tmp_path: Path) -> Iterator[str]:
    """A throw-away Debian ``docker-registry`` on loopback, no auth; yields its base URL."""
    if not REGISTRY_BIN.exists():
        pytest.skip("/usr/bin/docker-registry is not installed")
    port = _free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: test-secret}}\n"
    )
    log = (tmp_path / "registry.log").open("wb")
    proc = subprocess.Popen(
        [str(REGISTRY_BIN), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("registry did not start: " + (tmp_path / "registry.log").read_text())
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_push_to_real_registry(_registry: str) -> None:
    store = ContentStore()
    oci = _multi_platform(store)
    artifact_style = _multi_platform(store, oci_artifact=True)
    docker_image = add_image(store, seed="docker", user="root", docker_media_types=True)
    docker_list = add_index(
        store,
        [docker_image, add_attestation_manifest(store, docker_image, [PREDICATE_SPDX])],
        docker_media_types=True,
    )
    posts: list[str] = []

    def record(request: httpx.Request) -> None:
        if request.method == "POST":
            posts.append(str(request.url))

    with httpx.Client(event_hooks={"request": [record]}, timeout=10) as client:
        push(client, _registry, "acme/api", store, oci, "1.0")
        push(client, _registry, "acme/api", store, artifact_style, "2.0")
        push(client, _registry, "acme/legacy", store, docker_list, "0.9")
        for repo, tag, root in [
            ("acme/api", "1.0", oci),
            ("acme/api", "2.0", artifact_style),
            ("acme/legacy", "0.9", docker_list),
        ]:
            got = client.get(
                f"{_registry}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT_ALL}
            )
            assert got.status_code == 200, got.text
            assert got.headers["Docker-Content-Digest"] == root.digest
            assert got.headers["Content-Type"] == root.media_type
            assert got.content == store.blobs[root.digest]
        layer = _json(store, docker_image)["layers"][0]["digest"]
        blob = client.get(f"{_registry}/v2/acme/legacy/blobs/{layer}")
        assert blob.content == store.blobs[layer]
        uploads = len(posts)
        assert uploads > 0
        push(client, _registry, "acme/api", store, oci, "again")  # every blob already there
        assert len(posts) == uploads
        bad = store.add(b'{"schemaVersion":', MEDIA_OCI_MANIFEST)
        with pytest.raises(PushError):
            push(client, _registry, "acme/api", store, bad, "bad")
