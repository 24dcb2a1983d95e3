"""Resolve a digest into `ImageFacts`: index → platform manifests → configs → attestations.

Only content is fetched here; judging it is the policies' job. Content that is malformed
becomes facts that say so (`invalid`, `config_error`), because it will not change under the
same digest. Content that could not be *read* is different: a `RegistryError` for the
image itself propagates (the tag is unknown this run), and an unreadable attestation is
recorded in `missing`, which keeps the facts out of the permanent cache.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Protocol

from auditor.errors import ContentError, RegistryError
from auditor.evidence.attestations import (
    MAX_STATEMENT_BYTES,
    PREDICATE_TYPE,
    attestations_by_subject,
    is_attestation_entry,
    source_label,
    statement_layers,
)
from auditor.evidence.manifests import (
    IMAGE_CONFIG_TYPES,
    MANIFEST_TYPES,
    Descriptor,
    Document,
    parse_config,
    parse_document,
    parse_statement_predicate_type,
)
from auditor.models import Attestation, Digest, ImageFacts, PlatformFacts
from auditor.registries.interface import Manifest

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
MAX_CONFIG_BYTES = 8 * 1024 * 1024


class ContentSource(Protocol):
    """Where content is read from by digest; every `RegistryProvider` is one."""

    async def fetch_manifest(self, repository: str, digest: Digest) -> Manifest:
        """See `RegistryProvider.fetch_manifest`."""
        ...

    async def fetch_blob(self, repository: str, digest: Digest, *, max_bytes: int) -> bytes:
        """See `RegistryProvider.fetch_blob`."""
        ...


class Resolver:
    """Resolves digests of one repository's content through a `ContentSource`."""

    def __init__(self, source: ContentSource) -> None:
        self._source = source

    async def resolve(self, repository: str, digest: Digest) -> ImageFacts:
        """Return the facts of `digest`; raises `RegistryError` when it cannot be read."""
        manifest = await self._source.fetch_manifest(repository, digest)
        try:
            document = parse_document(manifest.data, manifest.media_type)
        except ContentError as error:
            return ImageFacts(digest=digest, media_type=manifest.media_type, invalid=str(error))
        if document.is_index:
            runnable = [m for m in document.manifests if not is_attestation_entry(m)]
            by_subject = attestations_by_subject(document.manifests)
            platforms = await asyncio.gather(
                *(
                    self._platform(repository, entry, by_subject.get(entry.digest, []))
                    for entry in runnable
                )
            )
        else:
            platforms = [await self._platform_of(repository, digest, document, "unknown", [])]
        # NOTE: the base image may be named on the index, on a platform manifest, or in
        # a config label; the first place that names it wins, in that order.
        sources = [
            document.annotations,
            *(p.annotations for p in platforms),
            *(p.labels for p in platforms),
        ]
        return ImageFacts(
            digest=digest,
            media_type=document.media_type,
            platforms=tuple(platforms),
            annotations=dict(document.annotations),
            base_name=next((s[BASE_NAME] for s in sources if BASE_NAME in s), None),
            base_digest=next((s[BASE_DIGEST] for s in sources if BASE_DIGEST in s), None),
        )

    async def _platform(
        self, repository: str, entry: Descriptor, attestations: list[Descriptor]
    ) -> PlatformFacts:
        if entry.media_type not in MANIFEST_TYPES:
            return _invalid_platform(entry, f"unsupported media type {entry.media_type}")
        manifest = await self._source.fetch_manifest(repository, entry.digest)
        try:
            document = parse_document(manifest.data, entry.media_type)
        except ContentError as error:
            return _invalid_platform(entry, str(error))
        return await self._platform_of(
            repository, entry.digest, document, entry.platform_name, attestations
        )

    async def _platform_of(
        self,
        repository: str,
        digest: Digest,
        document: Document,
        platform: str,
        attestation_entries: list[Descriptor],
    ) -> PlatformFacts:
        config = document.config
        assert config is not None  # parse_document guarantees a config for manifests
        attestations, missing = await self._attestations(repository, attestation_entries)
        facts = PlatformFacts(
            platform=platform,
            digest=digest,
            media_type=document.media_type,
            config_media_type=config.media_type,
            is_image=config.media_type in IMAGE_CONFIG_TYPES,
            attestations=attestations,
            missing=missing,
            annotations=document.annotations,
        )
        if not facts.is_image:
            return facts
        try:
            blob = await self._source.fetch_blob(
                repository, config.digest, max_bytes=MAX_CONFIG_BYTES
            )
        except ContentError as error:
            # NOTE: served bytes that fail their digest or size may be right next time,
            # so this is missing evidence (not cached), not a property of the image.
            problem = f"image config {config.digest}: {error}"
            return replace(facts, config_error=problem, missing=(*facts.missing, problem))
        try:
            parsed = parse_config(blob)
        except ContentError as error:
            return replace(facts, config_error=f"image config {config.digest}: {error}")
        return replace(
            facts,
            platform=parsed.platform if platform == "unknown" else platform,
            user=parsed.user,
            labels=parsed.labels,
            created=parsed.created,
        )

    async def _attestations(
        self, repository: str, entries: list[Descriptor]
    ) -> tuple[tuple[Attestation, ...], tuple[str, ...]]:
        found: list[Attestation] = []
        missing: list[str] = []
        for entry in entries:
            try:
                manifest = await self._source.fetch_manifest(repository, entry.digest)
                document = parse_document(manifest.data, entry.media_type)
                for layer in statement_layers(document):
                    predicate_type = layer.annotations.get(PREDICATE_TYPE)
                    if predicate_type is None:
                        # NOTE: the annotation is optional; the statement itself is authoritative.
                        statement = await self._source.fetch_blob(
                            repository, layer.digest, max_bytes=MAX_STATEMENT_BYTES
                        )
                        predicate_type = parse_statement_predicate_type(statement)
                    found.append(Attestation(predicate_type, entry.digest, source_label(document)))
            except (RegistryError, ContentError) as error:
                missing.append(f"attestation manifest {entry.digest}: {error}")
        return tuple(found), tuple(missing)


def _invalid_platform(entry: Descriptor, reason: str) -> PlatformFacts:
    """Facts for an index entry whose manifest cannot be evaluated at all."""
    return PlatformFacts(
        platform=entry.platform_name,
        digest=entry.digest,
        media_type=entry.media_type,
        config_media_type="",
        is_image=False,
        invalid=reason,
    )
