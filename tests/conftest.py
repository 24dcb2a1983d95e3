"""Shared fixtures: real registries, the sample fleet, configuration files."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.fixtures import registry, registry_factory

REPO_ROOT = Path(__file__).resolve().parents[1]

__all__ = ["registry", "registry_factory"]


def _load_generator() -> ModuleType:
    path = REPO_ROOT / "config" / "sample-fleet" / "generate.py"
    spec = importlib.util.spec_from_file_location("sample_fleet_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_fleet() -> ModuleType:
    """The sample fleet's generator module: `build_fleet()` gives repositories with `.expected`."""
    return _load_generator()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a YAML configuration into the test's folder and return its path."""

    def write(text: str, name: str = "auditor.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
