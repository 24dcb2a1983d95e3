"""The ``oci`` provider: any registry that speaks the OCI distribution HTTP API."""

from __future__ import annotations

from auditor.config import OciRegistry
from auditor.models import Digest, ListedTag
from auditor.registries.auth import RegistryAuth
from auditor.registries.distribution import DistributionClient
from auditor.registries.interface import Manifest, RegistryProvider


class OciProvider(RegistryProvider):
    """Lists through ``/v2/_catalog`` (or the configured list) and ``/tags/list``.

    Tag lists are sorted here: distribution 2.8 returns them unsorted and ignores ``n``.
    The OCI tag listing gives no digests, so each tag costs one ``HEAD``.
    """

    def __init__(self, settings: OciRegistry) -> None:
        super().__init__(settings.name)
        self._settings = settings
        secret = settings.credentials.resolve() if settings.credentials else None
        self._client = DistributionClient(
            settings.base_url,
            auth=RegistryAuth(settings.base_url, secret),
            counter=self.requests,
            concurrency=settings.concurrency,
            timeout=settings.timeout_seconds,
        )

    async def list_repositories(self) -> list[str]:
        """See `RegistryProvider.list_repositories`."""
        if self._settings.repositories is not None:
            return sorted(self._settings.repositories)
        return sorted(set(await self._client.catalog(self._settings.page_size)))

    async def list_tags(self, repository: str) -> list[ListedTag]:
        """See `RegistryProvider.list_tags`."""
        return [ListedTag(name) for name in sorted(set(await self._client.tags(repository)))]

    async def tag_digest(self, repository: str, tag: str) -> Digest:
        """See `RegistryProvider.tag_digest`."""
        return await self._client.head_manifest(repository, tag)

    async def fetch_manifest(self, repository: str, digest: Digest) -> Manifest:
        """See `RegistryProvider.fetch_manifest`."""
        return await self._client.get_manifest(repository, digest)

    async def fetch_blob(self, repository: str, digest: Digest, *, max_bytes: int) -> bytes:
        """See `RegistryProvider.fetch_blob`."""
        return await self._client.get_blob(repository, digest, max_bytes)

    async def aclose(self) -> None:
        """See `RegistryProvider.aclose`."""
        await self._client.aclose()
