"""Build synthetic OCI content in memory, write it as OCI image layouts, push it to a registry.

Everything here is deterministic: the same calls produce the same bytes and therefore the
same digests. JSON is serialised compactly with sorted keys, layers are tiny tar files
wrapped in gzip with *stored* (uncompressed) deflate blocks and a zero mtime, so the
output does not depend on the zlib build either.

Layouts follow the OCI image-layout spec; attestation manifests follow the two BuildKit
layouts described in ``scout_policies.md`` §3a (legacy, and ``oci-artifact=true``).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_INTOTO = "application/vnd.in-toto+json"
MEDIA_HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
MEDIA_HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
ARTIFACT_DOCKER_ATTESTATION = "application/vnd.docker.attestation.manifest.v1+json"

PREDICATE_SPDX = "https://spdx.dev/Document"
PREDICATE_SLSA_V02 = "https://slsa.dev/provenance/v0.2"
PREDICATE_SLSA_V1 = "https://slsa.dev/provenance/v1"
PREDICATE_CYCLONEDX = "https://cyclonedx.org/bom"

INTOTO_STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
ANNOTATION_PREDICATE_TYPE = "in-toto.io/predicate-type"
ANNOTATION_REFERENCE_TYPE = "vnd.docker.reference.type"
ANNOTATION_REFERENCE_DIGEST = "vnd.docker.reference.digest"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_BASE_NAME = "org.opencontainers.image.base.name"
ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"

EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

INDEX_MEDIA_TYPES = frozenset({MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST})
MANIFEST_MEDIA_TYPES = frozenset({MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST})

_FIXED_MTIME = 1767225600  # 2026-01-01T00:00:00Z, stamped on every tar entry
_ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a parent manifest or index says about a child."""

    media_type: str
    digest: str
    size: int
    platform: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    artifact_type: str | None = None

    def to_json(self) -> JSONObject:
        """Return the descriptor as OCI JSON (optional fields only when set)."""
        out: JSONObject = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform is not None:
            out["platform"] = dict(self.platform)
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        return out

    def bare(self) -> Descriptor:
        """Return a copy without platform, annotations and artifact type (for ``subject``)."""
        return Descriptor(self.media_type, self.digest, self.size)


@dataclass
class ContentStore:
    """An in-memory content-addressable store: digest → bytes."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def add(self, data: bytes, media_type: str) -> Descriptor:
        """Store ``data`` and return its descriptor (sha256 digest)."""
        digest = sha256_digest(data)
        self.blobs[digest] = data
        return Descriptor(media_type=media_type, digest=digest, size=len(data))

    def add_json(self, obj: object, media_type: str) -> Descriptor:
        """Store ``obj`` serialised with :func:`canonical_json` and return its descriptor."""
        return self.add(canonical_json(obj), media_type)


class PushError(RuntimeError):
    """Raised by :func:`push` when the registry answers with an unexpected status."""


def sha256_digest(data: bytes) -> str:
    """Return the OCI digest string ``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: object) -> bytes:
    """Serialise ``obj`` compactly with sorted keys (UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seeded_hex(*parts: str) -> str:
    """Return a 64-hex-digit value derived only from ``parts`` (a fake but stable digest)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def stored_gzip(data: bytes) -> bytes:
    """Wrap ``data`` in a gzip member made of stored deflate blocks (mtime 0, OS unknown).

    Stored blocks make the bytes independent of the zlib implementation and version.
    """
    deflater = zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush()
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + body + trailer


def tiny_tar(files: Mapping[str, bytes]) -> bytes:
    """Return a minimal ustar archive holding ``files`` (sorted, fixed owner and mtime).

    Unlike :mod:`tarfile` in write mode, no padding to a 10 KiB record is added.
    """
    out = bytearray()
    for name in sorted(files):
        data = files[name]
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = _FIXED_MTIME
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        out += info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")
        out += data + b"\x00" * (-len(data) % tarfile.BLOCKSIZE)
    out += b"\x00" * (2 * tarfile.BLOCKSIZE)
    return bytes(out)


def _safe(text: str) -> str:
    """Return ``text`` with anything but ``[A-Za-z0-9._-]`` replaced, for use in file names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _platform(os: str, architecture: str, variant: str | None) -> dict[str, str]:
    platform = {"architecture": architecture, "os": os}
    if variant is not None:
        platform["variant"] = variant
    return platform


def add_image(
    store: ContentStore,
    *,
    seed: str,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    os: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
    docker_media_types: bool = False,
    layers: int = 1,
    config_bytes: bytes | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Descriptor:
    """Add a runnable single-platform image (layers, config, manifest) to ``store``.

    ``user=None`` omits ``config.User``; ``config_bytes`` replaces the whole config blob
    (to build broken images); ``annotations`` go on the manifest. The returned manifest
    descriptor carries the platform, ready to be listed in an index.
    """
    layer_type = MEDIA_DOCKER_LAYER if docker_media_types else MEDIA_OCI_LAYER
    layer_descs: list[Descriptor] = []
    diff_ids: list[str] = []
    for i in range(layers):
        content = f"seed={seed}\nlayer={i}\n".encode()
        tar = tiny_tar({f"etc/synthetic/{_safe(seed)}/layer-{i}.txt": content})
        diff_ids.append(sha256_digest(tar))
        layer_descs.append(store.add(stored_gzip(tar), layer_type))

    platform = _platform(os, architecture, variant)
    if config_bytes is None:
        container: JSONObject = {"Env": [_ENV_PATH]}
        if user is not None:
            container["User"] = user
        if labels is not None:
            container["Labels"] = dict(labels)
        config: JSONObject = {
            **platform,
            "created": created,
            "config": container,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": created, "created_by": f"synthetic layer {i} of {seed}"}
                for i in range(layers)
            ],
        }
        config_bytes = canonical_json(config)
    config_type = MEDIA_DOCKER_CONFIG if docker_media_types else MEDIA_OCI_CONFIG
    config_desc = store.add(config_bytes, config_type)

    manifest_type = MEDIA_DOCKER_MANIFEST if docker_media_types else MEDIA_OCI_MANIFEST
    manifest: JSONObject = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config_desc.to_json(),
        "layers": [d.to_json() for d in layer_descs],
    }
    if annotations is not None:
        manifest["annotations"] = dict(annotations)
    desc = store.add_json(manifest, manifest_type)
    return Descriptor(desc.media_type, desc.digest, desc.size, platform=platform)


def add_artifact(
    store: ContentStore,
    *,
    seed: str,
    config_media_type: str = MEDIA_HELM_CONFIG,
    artifact_type: str | None = None,
) -> Descriptor:
    """Add a non-image OCI manifest (by default shaped like a pushed Helm chart)."""
    config = {"apiVersion": "v2", "name": seed, "version": "0.1.0", "type": "application"}
    config_desc = store.add_json(config, config_media_type)
    chart = tiny_tar({f"{_safe(seed)}/Chart.yaml": f"apiVersion: v2\nname: {seed}\n".encode()})
    layer_desc = store.add(stored_gzip(chart), MEDIA_HELM_CHART)
    manifest: JSONObject = {
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": config_desc.to_json(),
        "layers": [layer_desc.to_json()],
    }
    if artifact_type is not None:
        manifest["artifactType"] = artifact_type
    desc = store.add_json(manifest, MEDIA_OCI_MANIFEST)
    return Descriptor(desc.media_type, desc.digest, desc.size, artifact_type=artifact_type)


def _predicate(predicate_type: str, subject: Descriptor) -> JSONObject:
    """Return a small but plausible predicate body for ``predicate_type``."""
    platform = subject.platform or {"os": "linux", "architecture": "amd64"}
    platform_str = "/".join(platform[k] for k in ("os", "architecture", "variant") if k in platform)
    base_uri = f"pkg:docker/alpine@3.20?platform={platform_str.replace('/', '%2F')}"
    base_material = {"uri": base_uri, "digest": {"sha256": seeded_hex("base", platform_str)}}
    invocation_id = seeded_hex("invocation", subject.digest)[:26]
    if predicate_type == PREDICATE_SPDX:
        return {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "sbom",
            "documentNamespace": f"https://example.invalid/spdx/{subject.digest[7:]}",
            "creationInfo": {
                "created": "2026-01-01T00:00:00Z",
                "creators": ["Organization: Anchore, Inc", "Tool: syft-v1.0.0"],
            },
            "packages": [
                {
                    "name": "musl",
                    "SPDXID": "SPDXRef-Package-apk-musl",
                    "versionInfo": "1.2.5-r0",
                    "downloadLocation": "NOASSERTION",
                    "licenseConcluded": "MIT",
                    "licenseDeclared": "MIT",
                    "externalRefs": [
                        {
                            "referenceCategory": "PACKAGE-MANAGER",
                            "referenceType": "purl",
                            "referenceLocator": "pkg:apk/alpine/musl@1.2.5-r0",
                        }
                    ],
                }
            ],
        }
    if predicate_type.startswith(PREDICATE_CYCLONEDX):
        return {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "serialNumber": "urn:uuid:" + _uuid_from(subject.digest),
            "components": [
                {
                    "type": "library",
                    "name": "musl",
                    "version": "1.2.5-r0",
                    "purl": "pkg:apk/alpine/musl@1.2.5-r0",
                    "licenses": [{"license": {"id": "MIT"}}],
                }
            ],
        }
    if predicate_type == PREDICATE_SLSA_V02:
        # mode=min: no buildConfig, no Dockerfile source.
        return {
            "builder": {"id": ""},
            "buildType": "https://mobyproject.org/buildkit@v1",
            "materials": [base_material],
            "invocation": {
                "configSource": {"entryPoint": "Dockerfile"},
                "parameters": {"frontend": "dockerfile.v0"},
                "environment": {"platform": platform_str},
            },
            "metadata": {
                "buildInvocationID": invocation_id,
                "buildStartedOn": "2026-01-01T00:00:00Z",
                "buildFinishedOn": "2026-01-01T00:01:00Z",
                "completeness": {"parameters": False, "environment": True, "materials": False},
                "reproducible": False,
                "https://mobyproject.org/buildkit@v1#metadata": {},
            },
        }
    if predicate_type == PREDICATE_SLSA_V1:
        return {
            "buildDefinition": {
                "buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/"
                "slsa-definitions.md",
                "externalParameters": {
                    "configSource": {"path": "Dockerfile"},
                    "request": {"frontend": "dockerfile.v0", "args": {}},
                },
                "internalParameters": {"builderPlatform": platform_str},
                "resolvedDependencies": [base_material],
            },
            "runDetails": {
                "builder": {"id": ""},
                "metadata": {
                    "invocationID": invocation_id,
                    "startedOn": "2026-01-01T00:00:00Z",
                    "finishedOn": "2026-01-01T00:01:00Z",
                    "buildkit_completeness": {"request": False, "resolvedDependencies": False},
                    "buildkit_hermetic": False,
                    "buildkit_reproducible": False,
                },
            },
        }
    return {"note": f"synthetic predicate for {predicate_type}"}


def _uuid_from(text: str) -> str:
    h = seeded_hex("uuid", text)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def add_attestation_manifest(
    store: ContentStore,
    subject: Descriptor,
    predicate_types: Sequence[str],
    *,
    oci_artifact: bool = False,
) -> Descriptor:
    """Add a BuildKit attestation manifest for ``subject`` (a platform manifest).

    One in-toto statement layer per predicate type. Legacy layout: a tiny OCI image
    config. ``oci_artifact=True``: ``artifactType``, the OCI empty config and ``subject``.
    The returned descriptor carries the ``unknown/unknown`` platform and the
    ``vnd.docker.reference.*`` annotations, ready to be listed in an index.
    """
    layer_descs: list[Descriptor] = []
    for predicate_type in predicate_types:
        statement = {
            "_type": INTOTO_STATEMENT_V01,
            "predicateType": predicate_type,
            "subject": [{"name": "_", "digest": {"sha256": subject.digest.split(":", 1)[1]}}],
            "predicate": _predicate(predicate_type, subject),
        }
        desc = store.add_json(statement, MEDIA_INTOTO)
        layer_descs.append(
            Descriptor(
                desc.media_type,
                desc.digest,
                desc.size,
                annotations={ANNOTATION_PREDICATE_TYPE: predicate_type},
            )
        )
    manifest: JSONObject = {"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST}
    if oci_artifact:
        config_desc = store.add(EMPTY_JSON, MEDIA_OCI_EMPTY)
        manifest["artifactType"] = ARTIFACT_DOCKER_ATTESTATION
        manifest["subject"] = subject.bare().to_json()
    else:
        config = {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [d.digest for d in layer_descs]},
        }
        config_desc = store.add_json(config, MEDIA_OCI_CONFIG)
    manifest["config"] = config_desc.to_json()
    manifest["layers"] = [d.to_json() for d in layer_descs]
    desc = store.add_json(manifest, MEDIA_OCI_MANIFEST)
    return Descriptor(
        desc.media_type,
        desc.digest,
        desc.size,
        platform={"architecture": "unknown", "os": "unknown"},
        annotations={
            ANNOTATION_REFERENCE_TYPE: "attestation-manifest",
            ANNOTATION_REFERENCE_DIGEST: subject.digest,
        },
    )


def add_index(
    store: ContentStore,
    manifests: Sequence[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    docker_media_types: bool = False,
) -> Descriptor:
    """Add an OCI image index (or a Docker manifest list) listing ``manifests`` in order."""
    media_type = MEDIA_DOCKER_LIST if docker_media_types else MEDIA_OCI_INDEX
    index: JSONObject = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [d.to_json() for d in manifests],
    }
    if annotations is not None:
        index["annotations"] = dict(annotations)
    return store.add_json(index, media_type)


def _children(desc: Descriptor, data: bytes) -> list[Descriptor]:
    """Return the descriptors ``desc`` refers to (none for blobs and unparsable manifests)."""
    if desc.media_type not in INDEX_MEDIA_TYPES | MANIFEST_MEDIA_TYPES:
        return []
    try:
        doc = json.loads(data)
    except ValueError:
        return []  # a deliberately broken manifest is a leaf
    if not isinstance(doc, dict):
        return []
    if desc.media_type in INDEX_MEDIA_TYPES:
        raw = list(doc.get("manifests") or [])
    else:
        raw = [doc["config"], *(doc.get("layers") or [])] if "config" in doc else []
    return [
        Descriptor(media_type=str(d["mediaType"]), digest=str(d["digest"]), size=int(d["size"]))
        for d in raw
    ]


def walk(
    store: ContentStore, roots: Iterable[Descriptor], *, skip: Iterable[str] = ()
) -> Iterator[Descriptor]:
    """Yield every descriptor reachable from ``roots``, children before parents, once each.

    Follows index → manifests → config/layers (``subject`` is not followed). Digests in
    ``skip`` are neither yielded nor descended into. A reachable digest missing from the
    store raises :class:`KeyError`.
    """
    skipped = set(skip)
    seen: set[str] = set()

    def visit(desc: Descriptor) -> Iterator[Descriptor]:
        if desc.digest in seen or desc.digest in skipped:
            return
        seen.add(desc.digest)
        if desc.digest not in store.blobs:
            raise KeyError(f"blob {desc.digest} ({desc.media_type}) is not in the store")
        for child in _children(desc, store.blobs[desc.digest]):
            yield from visit(child)
        yield desc

    for root in roots:
        yield from visit(root)


def write_layout(
    path: Path,
    store: ContentStore,
    tags: Mapping[str, Descriptor],
    *,
    omit_blobs: Iterable[str] = (),
) -> None:
    """Write an OCI image layout at ``path`` with one ``index.json`` entry per tag.

    Only blobs reachable from the tagged roots are written, minus ``omit_blobs`` (whose
    children are not written either unless reachable another way). Existing files in
    ``path`` are overwritten but not removed.
    """
    blob_dir = path / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    entries = []
    for tag in sorted(tags):
        root = tags[tag]
        annotations = {**(root.annotations or {}), ANNOTATION_REF_NAME: tag}
        entries.append(
            Descriptor(
                root.media_type,
                root.digest,
                root.size,
                platform=root.platform,
                annotations=annotations,
                artifact_type=root.artifact_type,
            ).to_json()
        )
    index = {"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": entries}
    (path / "index.json").write_bytes(canonical_json(index))
    for desc in walk(store, tags.values(), skip=omit_blobs):
        algorithm, hexdigest = desc.digest.split(":", 1)
        if algorithm != "sha256":
            raise ValueError(f"unsupported digest algorithm in {desc.digest}")
        (blob_dir / hexdigest).write_bytes(store.blobs[desc.digest])


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        request = response.request
        raise PushError(
            f"{request.method} {request.url} answered {response.status_code} "
            f"(expected {', '.join(map(str, expected))}): {response.text}"
        )
    return response


def _upload_blob(client: httpx.Client, prefix: str, data: bytes, digest: str) -> None:
    head = client.head(f"{prefix}/blobs/{digest}")
    if head.status_code == 200:
        return
    _check(head, 404)
    started = _check(client.post(f"{prefix}/blobs/uploads/"), 202)
    location = started.headers.get("Location")
    if not location:
        raise PushError(f"POST {started.request.url} returned no Location: {started.text}")
    url = str(started.request.url.join(location))
    url += ("&" if "?" in url else "?") + f"digest={digest}"
    headers = {"Content-Type": "application/octet-stream"}
    _check(client.put(url, content=data, headers=headers), 201)


def _put_manifest(client: httpx.Client, url: str, data: bytes, media_type: str) -> None:
    _check(client.put(url, content=data, headers={"Content-Type": media_type}), 201)


def push(
    client: httpx.Client,
    base_url: str,
    repository: str,
    store: ContentStore,
    root: Descriptor,
    tag: str | None,
) -> None:
    """Push everything reachable from ``root`` to ``repository``, children first.

    Blobs already present (HEAD 200) are skipped; manifests and indexes are PUT by
    digest with their media type, then ``root`` is PUT again by ``tag`` when given.
    Any unexpected status raises :class:`PushError` carrying the response body.
    """
    prefix = f"{base_url.rstrip('/')}/v2/{repository}"
    for desc in walk(store, [root]):
        data = store.blobs[desc.digest]
        if desc.media_type in INDEX_MEDIA_TYPES | MANIFEST_MEDIA_TYPES:
            _put_manifest(client, f"{prefix}/manifests/{desc.digest}", data, desc.media_type)
        else:
            _upload_blob(client, prefix, data, desc.digest)
    if tag is not None:
        root_data = store.blobs[root.digest]
        _put_manifest(client, f"{prefix}/manifests/{tag}", root_data, root.media_type)
