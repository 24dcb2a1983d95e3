"""An async client for the OCI distribution HTTP API (and Docker Registry v2).

It pages the catalog and tag lists, resolves tags with ``HEAD``, and reads manifests and
blobs by digest with size limits and digest verification. Every request is counted by kind
for the run record. Transient failures (connection errors, 429, 5xx) are retried a few
times; anything else becomes a `RegistryError` whose message comes from the registry's own
error body when it sent one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from auditor.errors import ContentError, RegistryAuthError, RegistryError, RegistryUnreachable
from auditor.models import Digest
from auditor.registries.interface import DIGEST_PATTERN, Manifest, RequestCounter

logger = logging.getLogger(__name__)

MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""Sent in every manifest ``Accept``: distribution 2.8 answers 404 for an OCI manifest
that was not asked for, and down-converts a schema2 manifest to schema1 by tag."""

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # distribution's own limit on manifest size
MAX_LISTING_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """How often and how patiently to retry transient failures."""

    attempts: int = 3
    backoff_seconds: float = 0.5


@dataclass(frozen=True, slots=True)
class _Reply:
    headers: httpx.Headers
    url: httpx.URL
    links: dict[str | None, dict[str, str]]
    body: bytes


class DistributionClient:
    """HTTP access to one registry, bounded to `concurrency` requests at a time."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        counter: RequestCounter,
        concurrency: int,
        timeout: float,
        retry: RetrySettings = RetrySettings(),
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._counter = counter
        self._retry = retry
        self._limit = asyncio.Semaphore(concurrency)
        self._down: RegistryUnreachable | None = None
        self._http = httpx.AsyncClient(
            auth=auth,
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": "fleet-auditor"},
            event_hooks={"response": [self._count]},
            limits=httpx.Limits(max_connections=concurrency),
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def catalog(self, page_size: int) -> list[str]:
        """Return every repository name from ``/v2/_catalog``, following ``Link`` pages."""
        names: list[str] = []
        url: str | None = f"{self._base_url}/v2/_catalog?n={page_size}"
        while url is not None:
            try:
                body, url = await self._json_page(url, "_catalog")
            except PageSizeRefused:
                # NOTE: distribution answers 400 PAGINATION_NUMBER_INVALID when n exceeds its
                # catalog.maxentries; without n it pages at its own size and sends Link.
                if names:
                    raise
                body, url = await self._json_page(f"{self._base_url}/v2/_catalog", "_catalog")
            repositories = body.get("repositories")
            if not isinstance(repositories, list) or not all(
                isinstance(r, str) for r in repositories
            ):
                raise RegistryError(
                    f"{self._base_url}: catalog response has no list of repositories"
                )
            names.extend(repositories)
        return names

    async def tags(self, repository: str) -> list[str]:
        """Return every tag of `repository`, following ``Link`` pages where the server pages."""
        tags: list[str] = []
        url: str | None = f"{self._base_url}/v2/{repository}/tags/list"
        while url is not None:
            body, url = await self._json_page(url, repository)
            page = body.get("tags")
            if page is None:  # NOTE: distribution answers null for a repository with no tags
                page = []
            if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                raise RegistryError(f"{repository}: tag list response is malformed")
            tags.extend(page)
        return tags

    async def head_manifest(self, repository: str, reference: str) -> Digest:
        """Return the digest `reference` resolves to, from one ``HEAD``."""
        url = f"{self._base_url}/v2/{repository}/manifests/{quote(reference)}"
        reply = await self._request("HEAD", url, repository, accept=MANIFEST_MEDIA_TYPES)
        digest = reply.headers.get("docker-content-digest", "")
        if not DIGEST_PATTERN.match(digest):
            raise RegistryError(
                f"{repository}:{reference}: the registry sent no usable Docker-Content-Digest"
            )
        return Digest(digest)

    async def get_manifest(self, repository: str, digest: Digest) -> Manifest:
        """Return the manifest under `digest`, verified against it."""
        url = f"{self._base_url}/v2/{repository}/manifests/{digest}"
        reply = await self._request(
            "GET",
            url,
            repository,
            accept=MANIFEST_MEDIA_TYPES,
            max_bytes=MAX_MANIFEST_BYTES,
            what=f"manifest {digest}",
        )
        _verify(digest, reply.body)
        media_type = reply.headers.get("content-type", "").split(";")[0].strip()
        return Manifest(digest=digest, media_type=media_type, data=reply.body)

    async def get_blob(self, repository: str, digest: Digest, max_bytes: int) -> bytes:
        """Return the blob under `digest`, verified, refusing more than `max_bytes`."""
        url = f"{self._base_url}/v2/{repository}/blobs/{digest}"
        reply = await self._request(
            "GET", url, repository, max_bytes=max_bytes, what=f"blob {digest}"
        )
        _verify(digest, reply.body)
        return reply.body

    async def _json_page(self, url: str, scope: str) -> tuple[dict[str, Any], str | None]:
        reply = await self._request(
            "GET", url, scope, max_bytes=MAX_LISTING_BYTES, what=f"{scope} listing"
        )
        following = reply.links.get("next", {}).get("url")
        next_url = str(reply.url.join(following)) if following else None
        try:
            body = json.loads(reply.body)
        except ValueError as error:
            raise RegistryError(f"{scope}: listing is not valid JSON") from error
        if not isinstance(body, dict):
            raise RegistryError(f"{scope}: listing is not a JSON object")
        if next_url is not None and not next_url.startswith(self._base_url + "/"):
            # NOTE: a Link to another origin would carry our credentials elsewhere.
            raise RegistryError(f"{scope}: pagination link leaves the registry: {next_url}")
        return body, next_url

    async def _request(
        self,
        method: str,
        url: str,
        scope: str,
        *,
        accept: tuple[str, ...] = (),
        max_bytes: int = 0,
        what: str = "",
    ) -> _Reply:
        """Send one request, retrying transient failures, and read at most `max_bytes`."""
        headers = {"Accept": ", ".join(accept)} if accept else {}
        attempt = 1
        while True:
            if self._down is not None:
                # NOTE: once the registry stopped answering after every retry, the rest of
                # the run fails fast: every request would wait out the same retries.
                raise RegistryUnreachable(str(self._down))
            try:
                async with self._limit, self._http.stream(method, url, headers=headers) as response:
                    if not (_is_transient(response.status_code) and attempt < self._retry.attempts):
                        await _raise_for_status(response, scope)
                        if max_bytes:
                            body = await _read_limited(response, max_bytes, what)
                        else:
                            # NOTE: even a HEAD's empty body is read: httpcore closes the
                            # connection of an unread response (a TLS handshake per tag).
                            body = await response.aread()
                        return _Reply(response.headers, response.url, response.links, body)
                    await response.aread()
                    logger.info(
                        "%s %s answered %s, retrying (attempt %d)",
                        method,
                        url,
                        response.status_code,
                        attempt,
                    )
            except httpx.TransportError as error:
                self._counter.record(_kind(method, httpx.URL(url)), failed=True)
                if attempt >= self._retry.attempts:
                    self._down = RegistryUnreachable(
                        f"{self._base_url} unreachable ({type(error).__name__}: {error})"
                    )
                    raise self._down from error
                logger.info("%s %s failed (%s), retrying (attempt %d)", method, url, error, attempt)
            await asyncio.sleep(self._retry.backoff_seconds * 2 ** (attempt - 1))
            attempt += 1

    async def _count(self, response: httpx.Response) -> None:
        size = response.headers.get("content-length", "0")
        received = int(size) if size.isdigit() and response.request.method != "HEAD" else 0
        failed = response.status_code >= 400 and response.status_code != 401
        self._counter.record(
            _kind(response.request.method, response.request.url), received=received, failed=failed
        )


def _kind(method: str, url: httpx.URL) -> str:
    path = url.path
    if not path.startswith("/v2/"):
        return "token"
    if path == "/v2/" or path == "/v2":
        return "ping"
    if path.startswith("/v2/_catalog"):
        return "catalog"
    if "/tags/list" in path:
        return "tags"
    if "/manifests/" in path:
        return "manifest_head" if method == "HEAD" else "manifest_get"
    if "/blobs/" in path:
        return "blob_get"
    return "other"


def _is_transient(status: int) -> bool:
    return status == 429 or status >= 500


class PageSizeRefused(RegistryError):
    """The registry refused the page size asked for."""


async def _raise_for_status(response: httpx.Response, scope: str) -> None:
    if response.is_success:
        return
    await response.aread()
    detail = _error_detail(response)
    status = response.status_code
    if status == 400 and "PAGINATION_NUMBER_INVALID" in detail:
        raise PageSizeRefused(f"{scope}: registry refused the page size{detail}")
    if status in (401, 403):
        raise RegistryAuthError(f"{scope}: access denied by the registry (HTTP {status}){detail}")
    if _is_transient(status):
        raise RegistryUnreachable(f"{scope}: registry answered HTTP {status}{detail}")
    raise RegistryError(f"{scope}: registry answered HTTP {status}{detail}")


def _error_detail(response: httpx.Response) -> str:
    """The registry's ``{"errors": [{"code", "message"}]}`` body, as a short suffix."""
    try:
        errors = response.json().get("errors")
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""


async def _read_limited(response: httpx.Response, limit: int, what: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ContentError(f"{what} is {declared} bytes, over the {limit}-byte limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise ContentError(f"{what} exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _verify(digest: Digest, data: bytes) -> None:
    algorithm, _, expected = digest.partition(":")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise ContentError(f"content served for {digest} hashes to {algorithm}:{actual}")
