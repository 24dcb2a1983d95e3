"""The provider interface: how the auditor enumerates and reads one registry.

A provider lists repositories and tags, turns a tag into a digest, and reads content by
digest. Everything it cannot do raises a `RegistryError`; it never answers "nothing" for
"I could not tell".
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass

from auditor.models import Digest, ListedTag, RequestCount

TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")
"""Valid tag names, from the OCI distribution spec."""

REPOSITORY_PATTERN = re.compile(
    r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\Z"
)
"""Valid repository names, from the OCI distribution spec."""

DIGEST_PATTERN = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z")
"""Digests the auditor accepts and can verify."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest's raw bytes as served, with the media type the server declared."""

    digest: Digest
    media_type: str
    data: bytes


class RequestCounter:
    """Counts requests by kind, with bytes received and failures, for the run record."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])

    def record(self, kind: str, *, received: int = 0, failed: bool = False) -> None:
        """Count one request of `kind` that received `received` bytes."""
        entry = self._counts[kind]
        entry[0] += 1
        entry[1] += received
        entry[2] += int(failed)

    def snapshot(self, registry: str) -> list[RequestCount]:
        """Return the counts so far, one row per kind, sorted by kind."""
        return [
            RequestCount(registry=registry, kind=kind, count=c, bytes=b, errors=e)
            for kind, (c, b, e) in sorted(self._counts.items())
        ]


class RegistryProvider(ABC):
    """Enumerates and reads one configured registry."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests = RequestCounter()

    @abstractmethod
    async def list_repositories(self) -> list[str]:  # pragma: no cover
        """Return every repository to audit, sorted. Raises `RegistryError`."""

    @abstractmethod
    async def list_tags(self, repository: str) -> list[ListedTag]:  # pragma: no cover
        """Return every tag of `repository`, sorted by name, with digests where free.

        Raises `RegistryError` when the list cannot be read completely.
        """

    @abstractmethod
    async def tag_digest(self, repository: str, tag: str) -> Digest:  # pragma: no cover
        """Return the digest `tag` points to now (one ``HEAD`` on HTTP registries)."""

    @abstractmethod
    async def fetch_manifest(self, repository: str, digest: Digest) -> Manifest:  # pragma: no cover
        """Return the manifest stored under `digest`, verified against it.

        Raises `ContentError` for content that is oversized or does not match.
        """

    @abstractmethod
    async def fetch_blob(
        self, repository: str, digest: Digest, *, max_bytes: int
    ) -> bytes:  # pragma: no cover
        """Return the blob stored under `digest`, verified, refusing more than `max_bytes`."""

    async def aclose(self) -> None:  # noqa: B027 (optional hook with a do-nothing default)
        """Release connections; the default has none."""
