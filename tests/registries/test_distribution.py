"""The HTTP client: retries, failing fast once a registry is down, catalog paging."""

from __future__ import annotations

import asyncio
import socket

import pytest

from auditor.errors import RegistryUnreachable
from auditor.registries.distribution import DistributionClient, RetrySettings
from auditor.registries.interface import RequestCounter
from tests.support.registry import RunningRegistry


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(url: str, counter: RequestCounter) -> DistributionClient:
    return DistributionClient(
        url,
        auth=None,
        counter=counter,
        concurrency=4,
        timeout=5,
        retry=RetrySettings(attempts=3, backoff_seconds=0.01),
    )


def test_unreachable_registry_is_retried_then_fails_fast() -> None:
    counter = RequestCounter()

    async def scenario() -> None:
        client = _client(f"http://127.0.0.1:{_closed_port()}", counter)
        try:
            with pytest.raises(RegistryUnreachable, match="unreachable"):
                await client.head_manifest("team/app", "v1")
            with pytest.raises(RegistryUnreachable, match="unreachable"):
                await client.head_manifest("team/app", "v2")
        finally:
            await client.aclose()

    asyncio.run(scenario())
    (heads,) = counter.snapshot("r")
    # three attempts for the first tag; the second is refused without a request
    assert (heads.kind, heads.count, heads.errors) == ("manifest_head", 3, 3)


def test_catalog_pages_through_a_small_maxentries(registry_factory: object) -> None:
    import httpx

    from tests.support.oci import ContentStore, add_image, push

    registry: RunningRegistry = registry_factory(catalog_max_entries=2)  # type: ignore[operator]
    store = ContentStore()
    root = add_image(store, seed="catalog")
    names = ["a/one", "b/two", "c/three", "d/four", "e/five"]
    with httpx.Client() as http:
        for name in names:
            push(http, registry.url, name, store, root, "v1")
    counter = RequestCounter()

    async def scenario() -> list[str]:
        client = _client(registry.url, counter)
        try:
            return await client.catalog(page_size=1000)
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == names
    (catalog,) = counter.snapshot("r")
    # the refused page size, then three pages of at most two
    assert catalog.count == 4 and catalog.errors == 1
