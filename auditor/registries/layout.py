"""The ``layout`` provider: a folder tree of OCI image layouts.

Every folder below the root that holds an ``oci-layout`` file is a repository named by its
path relative to the root; its tags are the ``org.opencontainers.image.ref.name``
annotations in its ``index.json``. Exported images (``skopeo copy oci:``, ``docker buildx
--output type=oci``) and registries that store repositories as layouts are audited this way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

from auditor.config import LayoutRegistry
from auditor.errors import ContentError, RegistryError
from auditor.models import Digest, ListedTag
from auditor.registries.distribution import MAX_MANIFEST_BYTES
from auditor.registries.interface import DIGEST_PATTERN, Manifest, RegistryProvider

REF_NAME = "org.opencontainers.image.ref.name"


class LayoutProvider(RegistryProvider):
    """Reads layouts from disk; counts each file read as a ``file_read`` request."""

    def __init__(self, settings: LayoutRegistry) -> None:
        super().__init__(settings.name)
        self._root = settings.path
        self._media_types: dict[tuple[str, str], str] = {}

    async def list_repositories(self) -> list[str]:
        """See `RegistryProvider.list_repositories`."""
        if not self._root.is_dir():
            raise RegistryError(f"layout folder {self._root} does not exist")
        return await asyncio.to_thread(self._find_layouts)

    def _find_layouts(self) -> list[str]:
        found = []
        for folder, subfolders, files in os.walk(self._root, followlinks=False):
            if "oci-layout" in files:
                relative = Path(folder).relative_to(self._root).as_posix()
                found.append(relative if relative != "." else self._root.name)
                subfolders[:] = []  # NOTE: blobs/ of a layout is not a place for repositories
        return sorted(found)

    async def list_tags(self, repository: str) -> list[ListedTag]:
        """See `RegistryProvider.list_tags`. Layouts give digests for free."""
        index_path = self._folder(repository) / "index.json"
        raw = await self._read(index_path, MAX_MANIFEST_BYTES, f"{repository}: index.json")
        try:
            index = json.loads(raw)
            descriptors = index["manifests"]
            if not isinstance(descriptors, list):
                raise TypeError
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(f"{repository}: index.json is not an OCI image index") from error
        tags: dict[str, ListedTag] = {}
        for descriptor in descriptors:
            if not isinstance(descriptor, dict):
                continue
            name = (descriptor.get("annotations") or {}).get(REF_NAME)
            digest = descriptor.get("digest")
            if not isinstance(name, str) or not isinstance(digest, str):
                continue
            if not DIGEST_PATTERN.match(digest):
                raise RegistryError(f"{repository}:{name}: index.json holds an invalid digest")
            media_type = descriptor.get("mediaType")
            if isinstance(media_type, str):
                self._media_types[(repository, digest)] = media_type
            tags[name] = ListedTag(name, Digest(digest))
        return [tags[name] for name in sorted(tags)]

    async def tag_digest(self, repository: str, tag: str) -> Digest:
        """See `RegistryProvider.tag_digest`."""
        for listed in await self.list_tags(repository):
            if listed.name == tag and listed.digest is not None:
                return listed.digest
        raise RegistryError(f"{repository}:{tag}: no such tag in the layout")

    async def fetch_manifest(self, repository: str, digest: Digest) -> Manifest:
        """See `RegistryProvider.fetch_manifest`."""
        data = await self.fetch_blob(repository, digest, max_bytes=MAX_MANIFEST_BYTES)
        try:
            declared = json.loads(data).get("mediaType", "")
        except (ValueError, AttributeError):
            declared = ""
        media_type = self._media_types.get((repository, digest)) or declared
        return Manifest(digest=digest, media_type=str(media_type), data=data)

    async def fetch_blob(self, repository: str, digest: Digest, *, max_bytes: int) -> bytes:
        """See `RegistryProvider.fetch_blob`."""
        if not DIGEST_PATTERN.match(digest):
            raise ContentError(f"invalid digest {digest!r}")
        algorithm, _, hex_digest = digest.partition(":")
        path = self._folder(repository) / "blobs" / algorithm / hex_digest
        data = await self._read(path, max_bytes, f"{repository}@{digest}")
        if hashlib.new(algorithm, data).hexdigest() != hex_digest:
            raise ContentError(f"{repository}: blob {digest} does not match its digest")
        return data

    def _folder(self, repository: str) -> Path:
        if repository == self._root.name and (self._root / "oci-layout").is_file():
            return self._root
        folder = (self._root / repository).resolve()
        if not folder.is_relative_to(self._root.resolve()):
            raise RegistryError(f"repository {repository!r} lies outside the layout folder")
        return folder

    async def _read(self, path: Path, limit: int, what: str) -> bytes:
        try:
            size = path.stat().st_size
            if size > limit:
                raise ContentError(f"{what} is {size} bytes, over the {limit}-byte limit")
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as error:
            self.requests.record("file_read", failed=True)
            raise RegistryError(f"{what}: not found in the layout") from error
        except OSError as error:
            self.requests.record("file_read", failed=True)
            raise RegistryError(f"{what}: cannot read {path}: {error.strerror}") from error
        self.requests.record("file_read", received=len(data))
        return data
