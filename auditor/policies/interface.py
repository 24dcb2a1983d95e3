"""The policy interface: a pure function from an image's facts to a verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.errors import ConfigError
from auditor.models import ImageFacts, PlatformFacts, PlatformVerdict, Status, Verdict

# NOTE: a tag is as bad as its worst platform; a known violation outranks not knowing.
_SEVERITY = (Status.NON_COMPLIANT, Status.ERROR, Status.UNKNOWN, Status.COMPLIANT)


class PolicyConfigError(ConfigError):
    """A policy's options are invalid."""


class Policy(ABC):
    """Judges one image, platform by platform; a tag passes only if every platform does."""

    type_name: ClassVar[str]
    """The policy type as written in the configuration."""
    remediation: ClassVar[str]
    """What to do when the policy is not met."""
    options: ClassVar[frozenset[str]] = frozenset()
    """Option names the type accepts under ``with``."""

    def __init__(self, policy_id: str, settings: Mapping[str, Any]) -> None:
        unknown = sorted(set(settings) - self.options)
        if unknown:
            accepted = ", ".join(sorted(self.options)) or "none"
            raise PolicyConfigError(
                f"policy {policy_id}: unknown option(s) {', '.join(unknown)}"
                f" for type {self.type_name} (accepted: {accepted})"
            )
        self.policy_id = policy_id

    @abstractmethod
    def judge(self, platform: PlatformFacts) -> tuple[Status, str]:  # pragma: no cover
        """Judge one platform known to be a readable image; returns the status and reason."""

    def evaluate_platform(self, platform: PlatformFacts) -> PlatformVerdict:
        """Judge one platform: unreadable content is an error, an artifact is unknown."""
        if platform.invalid is not None:
            status = Status.ERROR
            reason = f"the platform manifest cannot be evaluated: {platform.invalid}"
        elif not platform.is_image:
            status = Status.UNKNOWN
            reason = (
                f"not a container image (config media type {platform.config_media_type or 'none'})"
            )
        else:
            status, reason = self.judge(platform)
        return PlatformVerdict(platform.platform, platform.digest, status, reason)

    def evidence(self, platform: PlatformFacts) -> tuple[str, ...]:
        """What the verdict for `platform` rests on; the default is nothing beyond reasons."""
        return ()

    def evaluate(self, facts: ImageFacts) -> Verdict:
        """Judge an image: invalid content is an error, otherwise every platform counts."""
        if facts.invalid is not None:
            return self.verdict(Status.ERROR, f"the manifest cannot be evaluated: {facts.invalid}")
        if not facts.platforms:
            return self.verdict(Status.UNKNOWN, "the image index lists no runnable platform")
        results = tuple(self.evaluate_platform(p) for p in facts.platforms)
        status = next(s for s in _SEVERITY if any(r.status is s for r in results))
        if len(results) == 1:
            reason = results[0].reason
        else:
            affected = [r for r in results if r.status is status]
            details = "; ".join(f"{r.platform}: {r.reason}" for r in affected)
            reason = (
                f"all {len(results)} platforms: {details}"
                if len(affected) == len(results) and status is Status.COMPLIANT
                else f"{len(affected)} of {len(results)} platforms {status.value}: {details}"
            )
        evidence = tuple(e for p in facts.platforms for e in self.evidence(p))
        return self.verdict(status, reason, platforms=results, evidence=evidence)

    def verdict(
        self,
        status: Status,
        reason: str,
        *,
        platforms: tuple[PlatformVerdict, ...] = (),
        evidence: tuple[str, ...] = (),
    ) -> Verdict:
        """Build this policy's verdict; remediation is attached to failures only."""
        return Verdict(
            policy_id=self.policy_id,
            policy_type=self.type_name,
            status=status,
            reason=reason,
            remediation=self.remediation if status is Status.NON_COMPLIANT else None,
            platforms=platforms,
            evidence=evidence,
        )
