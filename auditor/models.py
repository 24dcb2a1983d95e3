"""Frozen value objects shared by every layer: what was listed, what was found, what was judged."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NewType

Digest = NewType("Digest", str)
"""A content digest such as ``sha256:<64 hex>``; the unit of work and of caching."""


@enum.unique
class Status(enum.StrEnum):
    """The outcome of one policy for one tag (Docker Scout's ✓, !, ? plus an error state)."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    UNKNOWN = "unknown"
    """Not enough evidence; the reason names what is missing."""
    ERROR = "error"
    """Could not be evaluated; the reason says why."""


@dataclass(frozen=True, slots=True)
class TagRef:
    """A tag in a repository of a configured registry."""

    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


@dataclass(frozen=True, slots=True)
class ListedTag:
    """A tag as a listing returned it; `digest` is set when the listing gave it for free."""

    name: str
    digest: Digest | None = None


@dataclass(frozen=True, slots=True)
class Attestation:
    """An in-toto statement attached to a platform manifest."""

    predicate_type: str
    manifest_digest: Digest
    """Digest of the attestation manifest that carries the statement."""
    source: str
    """Where it was found, e.g. ``buildkit-index`` or ``buildkit-index (oci-artifact)``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PlatformFacts:
    """What one runnable manifest (one platform) of an image says about itself."""

    platform: str
    """``os/architecture[/variant]``, or ``unknown`` when the config does not say."""
    digest: Digest
    media_type: str
    config_media_type: str
    is_image: bool
    """False for artifacts (Helm charts, SBOM-only manifests...) that cannot be run."""
    user: str | None = None
    """The config's ``User``; None when the key is absent or empty."""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The platform manifest's own annotations."""
    created: str | None = None
    attestations: tuple[Attestation, ...] = ()
    missing: tuple[str, ...] = ()
    """Evidence that should exist but could not be read, e.g. an attestation manifest."""
    invalid: str | None = None
    """Why this platform's manifest cannot be evaluated at all."""
    config_error: str | None = None
    """Why the image config could not be read; only config-based policies are affected."""

    @property
    def predicate_types(self) -> frozenset[str]:
        """The predicate types of all attestations found for this platform."""
        return frozenset(a.predicate_type for a in self.attestations)


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageFacts:
    """Everything resolved about one digest. Immutable, so cached forever by digest."""

    digest: Digest
    media_type: str
    platforms: tuple[PlatformFacts, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    base_name: str | None = None
    base_digest: str | None = None
    invalid: str | None = None
    """Why the manifest itself cannot be evaluated; the policies then report an error."""

    @property
    def complete(self) -> bool:
        """True when nothing was missing, so the facts may be cached for good."""
        return not any(p.missing for p in self.platforms)

    FORMAT: ClassVar[int] = 1
    """Version of the `to_dict` layout; bump it when a field is added or changes meaning."""

    @classmethod
    def is_current(cls, data: Mapping[str, Any]) -> bool:
        """True when `data` was written in this version's layout and `from_dict` can read it."""
        return data.get("format") == cls.FORMAT

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; `from_dict` reverses it."""
        return {
            "format": self.FORMAT,
            "digest": self.digest,
            "media_type": self.media_type,
            "annotations": dict(self.annotations),
            "base_name": self.base_name,
            "base_digest": self.base_digest,
            "invalid": self.invalid,
            "platforms": [
                {
                    "platform": p.platform,
                    "digest": p.digest,
                    "media_type": p.media_type,
                    "config_media_type": p.config_media_type,
                    "is_image": p.is_image,
                    "user": p.user,
                    "labels": dict(p.labels),
                    "annotations": dict(p.annotations),
                    "created": p.created,
                    "attestations": [
                        {
                            "predicate_type": a.predicate_type,
                            "manifest_digest": a.manifest_digest,
                            "source": a.source,
                        }
                        for a in p.attestations
                    ],
                    "missing": list(p.missing),
                    "invalid": p.invalid,
                    "config_error": p.config_error,
                }
                for p in self.platforms
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageFacts:
        """Rebuild facts stored by `to_dict`."""
        platforms = tuple(
            PlatformFacts(
                platform=p["platform"],
                digest=Digest(p["digest"]),
                media_type=p["media_type"],
                config_media_type=p["config_media_type"],
                is_image=p["is_image"],
                user=p["user"],
                labels=p["labels"],
                annotations=p["annotations"],
                created=p["created"],
                attestations=tuple(
                    Attestation(
                        predicate_type=a["predicate_type"],
                        manifest_digest=Digest(a["manifest_digest"]),
                        source=a["source"],
                    )
                    for a in p["attestations"]
                ),
                missing=tuple(p["missing"]),
                invalid=p["invalid"],
                config_error=p["config_error"],
            )
            for p in data["platforms"]
        )
        return cls(
            digest=Digest(data["digest"]),
            media_type=data["media_type"],
            platforms=platforms,
            annotations=data["annotations"],
            base_name=data["base_name"],
            base_digest=data["base_digest"],
            invalid=data["invalid"],
        )


@dataclass(frozen=True, slots=True)
class PlatformVerdict:
    """One policy's outcome for one platform of a multi-platform tag."""

    platform: str
    digest: Digest
    status: Status
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """One policy's outcome for one tag, with why and what to do about it."""

    policy_id: str
    policy_type: str
    status: Status
    reason: str
    remediation: str | None = None
    platforms: tuple[PlatformVerdict, ...] = ()
    evidence: tuple[str, ...] = ()
    """What the verdict rests on: digests of attestations, config fields read."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TagObservation:
    """What one run saw of one tag: the digest it pointed to, or why that is unknown."""

    ref: TagRef
    digest: Digest | None
    problem: str | None = None
    """Set when the digest is unknown this run (listing failed, registry unreachable)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ScopeFailure:
    """A registry or repository that could not be listed completely in a run."""

    registry: str
    repository: str | None
    """None when the whole registry could not be listed."""
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestCount:
    """HTTP requests (or file reads, for layouts) made to one registry in one run, by kind."""

    registry: str
    kind: str
    count: int
    bytes: int
    errors: int
