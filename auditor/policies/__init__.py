"""Policies, one module per type, behind `Policy`."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.config import PolicySettings
from auditor.models import ImageFacts, Status, Verdict
from auditor.policies.interface import Policy, PolicyConfigError
from auditor.policies.non_root import DefaultNonRootUser
from auditor.policies.supply_chain import SupplyChainAttestations

POLICY_TYPES: dict[str, type[Policy]] = {
    cls.type_name: cls for cls in (DefaultNonRootUser, SupplyChainAttestations)
}
"""Every policy type by the name the configuration uses."""


def build_policies(settings: Iterable[PolicySettings]) -> tuple[Policy, ...]:
    """Instantiate the configured policies; raises `PolicyConfigError` on bad options."""
    return tuple(POLICY_TYPES[s.type](s.id, s.with_) for s in settings)


def evaluate(policies: Iterable[Policy], facts: ImageFacts) -> tuple[Verdict, ...]:
    """Judge `facts` with every policy."""
    return tuple(policy.evaluate(facts) for policy in policies)


def unevaluated(policies: Iterable[Policy], status: Status, reason: str) -> tuple[Verdict, ...]:
    """The verdicts of a tag whose facts could not be had: the same status for every policy."""
    return tuple(policy.verdict(status, reason) for policy in policies)


__all__ = [
    "POLICY_TYPES",
    "DefaultNonRootUser",
    "Policy",
    "PolicyConfigError",
    "SupplyChainAttestations",
    "build_policies",
    "evaluate",
    "unevaluated",
]
