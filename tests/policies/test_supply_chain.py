"""Tests of the ``supply-chain-attestations`` policy."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.models import Attestation, Digest, PlatformFacts, Status
from auditor.policies import PolicyConfigError, SupplyChainAttestations
from tests.factories import image_facts, platform_facts

SPDX = "https://spdx.dev/Document"
CYCLONEDX = "https://cyclonedx.org/bom"
CYCLONEDX_V15 = "https://cyclonedx.org/bom/v1.5"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
VSA = "https://slsa.dev/verification_summary/v1"
ATTESTATION_MANIFEST = Digest("sha256:" + "33" * 32)


def attestations(*predicate_types: str) -> tuple[Attestation, ...]:
    return tuple(Attestation(p, ATTESTATION_MANIFEST, "buildkit-index") for p in predicate_types)


def platform(*predicate_types: str, **overrides: Any) -> PlatformFacts:
    return platform_facts(attestations=attestations(*predicate_types), **overrides)


@pytest.fixture
def policy() -> SupplyChainAttestations:
    return SupplyChainAttestations("supply-chain", {})


class TestSupplyChainAttestations:
    @pytest.mark.parametrize("sbom", [SPDX, CYCLONEDX, CYCLONEDX_V15])
    @pytest.mark.parametrize("provenance", [SLSA_V02, SLSA_V1])
    def test_sbom_and_provenance_are_compliant(
        self, policy: SupplyChainAttestations, sbom: str, provenance: str
    ) -> None:
        verdict = policy.evaluate(image_facts(platform(sbom, provenance)))

        assert verdict.status is Status.COMPLIANT
        assert sbom in verdict.reason and provenance in verdict.reason
        assert verdict.remediation is None

    def test_missing_sbom(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(SLSA_V1)))

        assert verdict.status is Status.NON_COMPLIANT
        assert "no SBOM" in verdict.reason
        assert "no provenance" not in verdict.reason
        assert SLSA_V1 in verdict.reason, "what was found is shown"

    def test_missing_provenance(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(SPDX)))

        assert verdict.status is Status.NON_COMPLIANT
        assert "no provenance" in verdict.reason
        assert "no SBOM" not in verdict.reason

    def test_missing_both(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform()))

        assert verdict.status is Status.NON_COMPLIANT
        assert "SBOM" in verdict.reason and "provenance" in verdict.reason
        assert verdict.remediation == SupplyChainAttestations.remediation

    def test_other_predicates_do_not_count(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(VSA, "https://example.com/custom/v1")))

        assert verdict.status is Status.NON_COMPLIANT
        assert VSA in verdict.reason

    def test_unreadable_attestations_are_unknown(self, policy: SupplyChainAttestations) -> None:
        lost = "attestation manifest sha256:44: 503 Service Unavailable"
        verdict = policy.evaluate(image_facts(platform(SPDX, missing=(lost,))))

        assert verdict.status is Status.UNKNOWN
        assert lost in verdict.reason
        assert "provenance" in verdict.reason
        assert verdict.remediation is None

    def test_unreadable_attestations_do_not_hide_what_was_found(
        self, policy: SupplyChainAttestations
    ) -> None:
        verdict = policy.evaluate(
            image_facts(platform(SPDX, SLSA_V1, missing=("attestation manifest sha256:55: 404",)))
        )

        assert verdict.status is Status.COMPLIANT

    def test_evidence_names_each_attestation(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(SPDX, SLSA_V1)))

        assert len(verdict.evidence) == 2
        assert all(ATTESTATION_MANIFEST in e for e in verdict.evidence)
        assert any(SPDX in e for e in verdict.evidence)
        assert any(SLSA_V1 in e for e in verdict.evidence)

    def test_artifact_is_unknown(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(is_image=False, config_media_type="x/helm")))

        assert verdict.status is Status.UNKNOWN
        assert "x/helm" in verdict.reason

    def test_invalid_platform_is_an_error(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(SPDX, SLSA_V1, invalid="bad digest")))

        assert verdict.status is Status.ERROR
        assert "bad digest" in verdict.reason

    def test_unreadable_config_does_not_matter(self, policy: SupplyChainAttestations) -> None:
        verdict = policy.evaluate(image_facts(platform(SPDX, SLSA_V1, config_error="not JSON")))

        assert verdict.status is Status.COMPLIANT

    def test_every_platform_needs_its_own_attestations(
        self, policy: SupplyChainAttestations
    ) -> None:
        verdict = policy.evaluate(
            image_facts(
                platform(SPDX, SLSA_V1),
                platform(platform="linux/arm64", digest=Digest("sha256:" + "66" * 32)),
            )
        )

        assert verdict.status is Status.NON_COMPLIANT
        assert "linux/arm64" in verdict.reason
        assert "linux/amd64" not in verdict.reason

    def test_takes_no_options(self) -> None:
        with pytest.raises(PolicyConfigError, match="required_attestations"):
            SupplyChainAttestations("supply-chain", {"required_attestations": ["sbom"]})
