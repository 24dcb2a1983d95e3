"""Strict parsing of OCI and Docker manifests, indexes and image configs.

Registry content is hostile input: everything is checked for shape before use, and a
document that does not parse becomes a `ContentError` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import ContentError
from auditor.models import Digest
from auditor.registries.interface import DIGEST_PATTERN

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Descriptor:
    """A content descriptor: what an index or manifest points to."""

    media_type: str
    digest: Digest
    size: int
    platform: Mapping[str, Any] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    @property
    def platform_name(self) -> str:
        """``os/architecture[/variant]`` from the descriptor, or ``unknown``."""
        return platform_name(self.platform)


@dataclass(frozen=True, kw_only=True, slots=True)
class Document:
    """A parsed index or manifest."""

    media_type: str
    manifests: tuple[Descriptor, ...] = ()
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    subject: Descriptor | None = None

    @property
    def is_index(self) -> bool:
        """True for an OCI index or Docker manifest list."""
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageConfig:
    """The fields of an image config the policies read."""

    user: str | None
    labels: Mapping[str, str]
    created: str | None
    platform: str


def platform_name(platform: Mapping[str, Any]) -> str:
    """Format a platform object as ``os/architecture[/variant]``."""
    os_name, architecture = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(architecture, str):
        return "unknown"
    variant = platform.get("variant")
    return "/".join([os_name, architecture] + ([variant] if isinstance(variant, str) else []))


def parse_document(data: bytes, declared_media_type: str) -> Document:
    """Parse an index or manifest; raises `ContentError` when it is not one."""
    body = _json_object(data, "manifest")
    media_type = body.get("mediaType") or declared_media_type
    if not isinstance(media_type, str):
        raise ContentError("manifest mediaType is not a string")
    if media_type not in INDEX_TYPES | MANIFEST_TYPES:
        # NOTE: an OCI manifest may omit mediaType; its shape then tells what it is.
        media_type = OCI_INDEX if "manifests" in body else OCI_MANIFEST if "config" in body else ""
    if not media_type:
        raise ContentError(f"unsupported manifest media type {declared_media_type or 'unknown'}")
    if body.get("schemaVersion") != 2:
        raise ContentError("manifest schemaVersion is not 2")
    if media_type in INDEX_TYPES:
        manifests = body.get("manifests")
        if not isinstance(manifests, list):
            raise ContentError("index has no manifests list")
        return Document(
            media_type=media_type,
            manifests=tuple(_descriptor(m, "index entry") for m in manifests),
            annotations=_strings(body.get("annotations"), "index annotations"),
        )
    layers = body.get("layers", [])
    if not isinstance(layers, list):
        raise ContentError("manifest layers is not a list")
    subject = body.get("subject")
    artifact_type = body.get("artifactType")
    return Document(
        media_type=media_type,
        config=_descriptor(body.get("config"), "manifest config"),
        layers=tuple(_descriptor(layer, "manifest layer") for layer in layers),
        annotations=_strings(body.get("annotations"), "manifest annotations"),
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        subject=_descriptor(subject, "manifest subject") if subject is not None else None,
    )


def parse_config(data: bytes) -> ImageConfig:
    """Parse an image config blob; raises `ContentError` when it is malformed."""
    body = _json_object(data, "image config")
    inner = body.get("config")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ContentError("image config 'config' is not an object")
    user = inner.get("User")
    if user is not None and not isinstance(user, str):
        raise ContentError("image config User is not a string")
    created = body.get("created")
    return ImageConfig(
        user=user.strip() or None if isinstance(user, str) else None,
        labels=_strings(inner.get("Labels"), "image config Labels"),
        created=created if isinstance(created, str) else None,
        platform=platform_name(body),
    )


def parse_statement_predicate_type(data: bytes) -> str:
    """Return the ``predicateType`` of an in-toto statement."""
    body = _json_object(data, "in-toto statement")
    predicate_type = body.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise ContentError("in-toto statement has no predicateType")
    return predicate_type


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ContentError(f"{what} is not valid JSON") from error
    if not isinstance(body, dict):
        raise ContentError(f"{what} is not a JSON object")
    return body


def _descriptor(raw: Any, what: str) -> Descriptor:
    if not isinstance(raw, dict):
        raise ContentError(f"{what} is not a descriptor object")
    media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str):
        raise ContentError(f"{what} lacks mediaType or digest")
    if not DIGEST_PATTERN.match(digest):
        raise ContentError(f"{what} has an invalid digest {digest[:80]!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ContentError(f"{what} {digest} has an invalid size")
    platform = raw.get("platform") or {}
    artifact_type = raw.get("artifactType")
    return Descriptor(
        media_type=media_type,
        digest=Digest(digest),
        size=size,
        platform=platform if isinstance(platform, dict) else {},
        annotations=_strings(raw.get("annotations"), f"{what} annotations"),
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
    )


def _strings(raw: Any, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ContentError(f"{what} is not a map of strings")
    return dict(raw)
