"""pytest fixtures around :mod:`tests.support.registry`.

Import them into ``tests/conftest.py``::

    from tests.support.fixtures import registry, registry_factory
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.support.registry import HtpasswdAuth, RunningRegistry, TokenAuth, start_registry


class RegistryFactory(Protocol):
    """Type of the ``registry_factory`` fixture."""

    def __call__(
        self,
        *,
        auth: HtpasswdAuth | TokenAuth | None = None,
        catalog_max_entries: int | None = None,
    ) -> RunningRegistry:
        """Start another registry in a fresh directory; it is closed at teardown."""
        ...


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    """An anonymous registry in ``tmp_path / "registry"``, closed at teardown."""
    running = start_registry(tmp_path / "registry")
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryFactory]:
    """A callable starting registries (each in its own directory); all closed at teardown."""
    started: list[RunningRegistry] = []

    def factory(
        *,
        auth: HtpasswdAuth | TokenAuth | None = None,
        catalog_max_entries: int | None = None,
    ) -> RunningRegistry:
        running = start_registry(
            tmp_path_factory.mktemp("registry"),
            auth=auth,
            catalog_max_entries=catalog_max_entries,
        )
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in reversed(started):
            running.close()
