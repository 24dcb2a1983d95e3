"""Registry providers, one module per kind, behind `RegistryProvider`."""

from __future__ import annotations

from typing import assert_never

from auditor.config import LayoutRegistry, OciRegistry, RegistrySettings
from auditor.registries.interface import Manifest, RegistryProvider
from auditor.registries.layout import LayoutProvider
from auditor.registries.oci import OciProvider


def provider_for(settings: RegistrySettings) -> RegistryProvider:
    """Build the provider for one configured registry."""
    if isinstance(settings, OciRegistry):
        return OciProvider(settings)
    if isinstance(settings, LayoutRegistry):
        return LayoutProvider(settings)
    assert_never(settings)


__all__ = ["LayoutProvider", "Manifest", "OciProvider", "RegistryProvider", "provider_for"]
