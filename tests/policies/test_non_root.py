"""Tests of the ``default-non-root-user`` policy (Docker Scout semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.models import PlatformFacts, Status
from auditor.policies import DefaultNonRootUser, PolicyConfigError
from tests.factories import image_facts, platform_facts


def platform(user: str | None = None, **overrides: Any) -> PlatformFacts:
    return platform_facts(user=user, **overrides)


@pytest.fixture
def policy() -> DefaultNonRootUser:
    return DefaultNonRootUser("non-root", {})


class TestDefaultNonRootUser:
    def test_unset_user_is_implicit_root(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform(None)))

        assert verdict.status is Status.NON_COMPLIANT
        assert "implicit" in verdict.reason
        assert "explicit" not in verdict.reason

    @pytest.mark.parametrize("user", ["root", "0", "0:0", "root:root", "root:1000", "0:1000"])
    def test_root_is_explicit(self, policy: DefaultNonRootUser, user: str) -> None:
        verdict = policy.evaluate(image_facts(platform(user)))

        assert verdict.status is Status.NON_COMPLIANT
        assert "explicit" in verdict.reason
        assert repr(user) in verdict.reason

    @pytest.mark.parametrize("user", ["nonroot", "1000:1000", "65532", "app:root", "1000:0"])
    def test_non_root_is_compliant(self, policy: DefaultNonRootUser, user: str) -> None:
        verdict = policy.evaluate(image_facts(platform(user)))

        assert verdict.status is Status.COMPLIANT
        assert repr(user) in verdict.reason
        assert verdict.remediation is None

    @pytest.mark.parametrize("user", ["00", "000:0"])
    def test_zero_padded_uid_is_root(self, policy: DefaultNonRootUser, user: str) -> None:
        assert policy.evaluate(image_facts(platform(user))).status is Status.NON_COMPLIANT

    def test_remediation_on_failure(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform("root")))

        assert verdict.remediation == DefaultNonRootUser.remediation
        assert verdict.remediation

    def test_verdict_identifies_the_policy(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform("app")))

        assert verdict.policy_id == "non-root"
        assert verdict.policy_type == "default-non-root-user"

    def test_evidence_names_the_user_read(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform("app")))

        assert len(verdict.evidence) == 1
        assert "User='app'" in verdict.evidence[0]
        assert "linux/amd64" in verdict.evidence[0]

    def test_artifact_is_unknown(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(
            image_facts(
                platform(
                    None,
                    is_image=False,
                    config_media_type="application/vnd.cncf.helm.config.v1+json",
                )
            )
        )

        assert verdict.status is Status.UNKNOWN
        assert "application/vnd.cncf.helm.config.v1+json" in verdict.reason
        assert verdict.remediation is None
        assert verdict.evidence == ()

    def test_unreadable_config_is_an_error(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(
            image_facts(platform(None, config_error="image config: not JSON"))
        )

        assert verdict.status is Status.ERROR
        assert "image config: not JSON" in verdict.reason
        assert verdict.evidence == ()

    def test_invalid_platform_manifest_is_an_error(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform("app", invalid="schemaVersion is not 2")))

        assert verdict.status is Status.ERROR
        assert "schemaVersion is not 2" in verdict.reason

    def test_missing_attestations_do_not_matter(self, policy: DefaultNonRootUser) -> None:
        verdict = policy.evaluate(image_facts(platform("app", missing=("attestation manifest x",))))

        assert verdict.status is Status.COMPLIANT

    def test_takes_no_options(self) -> None:
        with pytest.raises(PolicyConfigError, match="unknown option"):
            DefaultNonRootUser("non-root", {"allow_root": True})
