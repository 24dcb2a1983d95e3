"""Which predicate types count as an SBOM and as provenance."""

from __future__ import annotations

import pytest

from auditor.evidence.attestations import is_provenance, is_sbom


class TestPredicateTypes:
    @pytest.mark.parametrize(
        "predicate",
        [
            "https://spdx.dev/Document",
            "https://cyclonedx.org/bom",
            "https://cyclonedx.org/bom/v1.5",
        ],
    )
    def test_sboms(self, predicate: str) -> None:
        assert is_sbom(predicate) and not is_provenance(predicate)

    @pytest.mark.parametrize(
        "predicate", ["https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"]
    )
    def test_provenance(self, predicate: str) -> None:
        assert is_provenance(predicate) and not is_sbom(predicate)

    @pytest.mark.parametrize(
        "predicate",
        [
            "https://spdx.dev/DocumentXYZ",
            "https://cyclonedx.org/bomb",
            "https://slsa.dev/provenance",
            "https://slsa.dev/verification_summary/v1",
        ],
    )
    def test_look_alikes_are_neither(self, predicate: str) -> None:
        assert not is_sbom(predicate) and not is_provenance(predicate)
