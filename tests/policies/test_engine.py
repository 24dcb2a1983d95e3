"""Tests of the policy engine: combining platforms, errors, remediation, `unevaluated`."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from auditor.config import PolicySettings
from auditor.models import Attestation, Digest, PlatformFacts, Status
from auditor.policies import (
    POLICY_TYPES,
    DefaultNonRootUser,
    PolicyConfigError,
    SupplyChainAttestations,
    build_policies,
    evaluate,
    unevaluated,
)
from tests.factories import image_facts, platform_facts

SBOM_AND_PROVENANCE = (
    Attestation("https://spdx.dev/Document", Digest("sha256:" + "33" * 32), "buildkit-index"),
    Attestation("https://slsa.dev/provenance/v1", Digest("sha256:" + "33" * 32), "buildkit-index"),
)


def platform(name: str, state: Status, **overrides: Any) -> PlatformFacts:
    """Facts for one platform that the non-root policy judges as `state`."""
    fields: dict[str, Any] = {
        "platform": name,
        "digest": Digest("sha256:" + hashlib.sha256(name.encode()).hexdigest()),
        "attestations": SBOM_AND_PROVENANCE,
    }
    if state is Status.NON_COMPLIANT:
        fields["user"] = "root"
    elif state is Status.ERROR:
        fields["invalid"] = f"{name} manifest is broken"
    elif state is Status.UNKNOWN:
        fields.update(is_image=False, config_media_type="application/vnd.example.config+json")
    fields.update(overrides)
    return platform_facts(**fields)


def default_policies() -> tuple[Any, ...]:
    return build_policies(
        [
            PolicySettings.model_validate({"id": "non-root", "type": "default-non-root-user"}),
            PolicySettings.model_validate({"id": "attested", "type": "supply-chain-attestations"}),
        ]
    )


C, N, E, U = Status.COMPLIANT, Status.NON_COMPLIANT, Status.ERROR, Status.UNKNOWN


class TestMultiPlatform:
    def test_compliant_only_if_every_platform_is(self) -> None:
        policy = DefaultNonRootUser("non-root", {})
        facts = image_facts(platform("linux/amd64", C), platform("linux/arm64", C))

        verdict = policy.evaluate(facts)

        assert verdict.status is Status.COMPLIANT
        assert "linux/amd64" in verdict.reason and "linux/arm64" in verdict.reason

    def test_one_non_compliant_platform_fails_the_tag(self) -> None:
        policy = DefaultNonRootUser("non-root", {})
        facts = image_facts(platform("linux/amd64", C), platform("linux/arm64", N))

        verdict = policy.evaluate(facts)

        assert verdict.status is Status.NON_COMPLIANT
        assert "linux/arm64" in verdict.reason
        assert "1 of 2" in verdict.reason
        details = {p.platform: p for p in verdict.platforms}
        assert details["linux/amd64"].status is Status.COMPLIANT
        assert details["linux/arm64"].status is Status.NON_COMPLIANT
        assert details["linux/arm64"].digest == facts.platforms[1].digest
        assert "explicit" in details["linux/arm64"].reason

    def test_platform_details_are_kept_in_order(self) -> None:
        names = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/s390x"]
        facts = image_facts(*(platform(n, C) for n in names))

        verdict = DefaultNonRootUser("non-root", {}).evaluate(facts)

        assert [p.platform for p in verdict.platforms] == names

    @pytest.mark.parametrize(
        ("states", "expected"),
        [
            ((C, C), C),
            ((C, U), U),
            ((U, E), E),
            ((C, E), E),
            ((E, N), N),
            ((U, N), N),
            ((C, U, E, N), N),
            ((U, C, U), U),
            ((E, U, C), E),
        ],
    )
    def test_precedence(self, states: tuple[Status, ...], expected: Status) -> None:
        facts = image_facts(*(platform(f"linux/arch{i}", s) for i, s in enumerate(states)))

        verdict = DefaultNonRootUser("non-root", {}).evaluate(facts)

        assert verdict.status is expected
        assert [p.status for p in verdict.platforms] == list(states)
        affected = [f"linux/arch{i}" for i, s in enumerate(states) if s is expected]
        assert all(name in verdict.reason for name in affected)

    def test_single_platform_reason_is_the_platform_reason(self) -> None:
        verdict = DefaultNonRootUser("non-root", {}).evaluate(
            image_facts(platform("linux/amd64", N))
        )

        assert verdict.reason == verdict.platforms[0].reason

    def test_evidence_from_every_platform(self) -> None:
        facts = image_facts(platform("linux/amd64", C), platform("linux/arm64", C))

        verdict = SupplyChainAttestations("attested", {}).evaluate(facts)

        assert any("linux/amd64" in e for e in verdict.evidence)
        assert any("linux/arm64" in e for e in verdict.evidence)


class TestWholeImage:
    def test_invalid_manifest_is_an_error_for_every_policy(self) -> None:
        facts = image_facts(invalid="manifest schemaVersion is not 2")

        verdicts = evaluate(default_policies(), facts)

        assert len(verdicts) == 2
        for verdict in verdicts:
            assert verdict.status is Status.ERROR
            assert "schemaVersion is not 2" in verdict.reason
            assert verdict.remediation is None

    def test_invalid_wins_over_platforms(self) -> None:
        facts = image_facts(platform("linux/amd64", C), invalid="broken index")

        assert all(v.status is Status.ERROR for v in evaluate(default_policies(), facts))

    def test_no_platforms_is_unknown(self) -> None:
        verdicts = evaluate(default_policies(), image_facts())

        assert [v.status for v in verdicts] == [Status.UNKNOWN, Status.UNKNOWN]

    def test_one_verdict_per_policy_in_order(self) -> None:
        verdicts = evaluate(default_policies(), image_facts(platform("linux/amd64", C)))

        assert [(v.policy_id, v.policy_type) for v in verdicts] == [
            ("non-root", "default-non-root-user"),
            ("attested", "supply-chain-attestations"),
        ]


class TestRemediation:
    @pytest.mark.parametrize("state", [C, N, E, U])
    @pytest.mark.parametrize("policy_type", sorted(POLICY_TYPES))
    def test_only_on_non_compliant(self, policy_type: str, state: Status) -> None:
        policy = POLICY_TYPES[policy_type]("p", {})
        # Without attestations the supply-chain policy fails where the platform is an image.
        facts = image_facts(platform("linux/amd64", state, attestations=()))

        verdict = policy.evaluate(facts)

        if verdict.status is Status.NON_COMPLIANT:
            assert verdict.remediation == POLICY_TYPES[policy_type].remediation
            assert verdict.remediation
        else:
            assert verdict.remediation is None

    def test_each_type_has_a_remediation(self) -> None:
        for cls in POLICY_TYPES.values():
            verdict = cls("p", {}).verdict(Status.NON_COMPLIANT, "why")
            assert verdict.remediation


class TestUnevaluated:
    @pytest.mark.parametrize("status", [Status.UNKNOWN, Status.ERROR])
    def test_same_status_and_reason_for_every_policy(self, status: Status) -> None:
        policies = default_policies()

        verdicts = unevaluated(policies, status, "registry timed out")

        assert [v.policy_id for v in verdicts] == [p.policy_id for p in policies]
        assert all(v.status is status for v in verdicts)
        assert all(v.reason == "registry timed out" for v in verdicts)
        assert all(v.remediation is None for v in verdicts)
        assert all(v.platforms == () and v.evidence == () for v in verdicts)

    def test_no_policies_no_verdicts(self) -> None:
        assert unevaluated((), Status.UNKNOWN, "x") == ()


class TestBuildPolicies:
    def test_builds_each_configured_type(self) -> None:
        policies = default_policies()

        assert [type(p) for p in policies] == [DefaultNonRootUser, SupplyChainAttestations]
        assert [p.policy_id for p in policies] == ["non-root", "attested"]

    def test_unknown_option(self) -> None:
        settings = PolicySettings.model_validate(
            {"id": "attested", "type": "supply-chain-attestations", "with": {"colour": "red"}}
        )

        with pytest.raises(PolicyConfigError) as caught:
            build_policies([settings])

        assert "attested" in str(caught.value)
        assert "colour" in str(caught.value)
