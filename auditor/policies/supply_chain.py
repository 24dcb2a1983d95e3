"""``supply-chain-attestations``: every platform carries an SBOM and a provenance attestation.

Looked for today: BuildKit attestation manifests in the image index, in both layouts.
An attestation manifest that exists but cannot be read makes the answer unknown, never
"missing".
"""

from __future__ import annotations

from auditor.evidence.attestations import is_provenance, is_sbom
from auditor.models import PlatformFacts, Status
from auditor.policies.interface import Policy


class SupplyChainAttestations(Policy):
    """See the module docstring."""

    type_name = "supply-chain-attestations"
    remediation = (
        "Build with attestations and push the index: "
        "`docker buildx build --sbom=true --provenance=mode=max --push ...`."
    )

    def evidence(self, platform: PlatformFacts) -> tuple[str, ...]:
        """See `Policy.evidence`."""
        return tuple(
            f"{platform.platform} {a.predicate_type} in {a.manifest_digest} ({a.source})"
            for a in platform.attestations
        )

    def judge(self, platform: PlatformFacts) -> tuple[Status, str]:
        """See `Policy.judge`."""
        sbom = sorted(p for p in platform.predicate_types if is_sbom(p))
        provenance = sorted(p for p in platform.predicate_types if is_provenance(p))
        if sbom and provenance:
            return Status.COMPLIANT, f"SBOM ({sbom[0]}) and provenance ({provenance[0]}) attested"
        lacking = " and no ".join(
            name for name, present in (("SBOM", sbom), ("provenance", provenance)) if not present
        )
        if platform.missing:
            return (
                Status.UNKNOWN,
                f"no {lacking} found, but attestations could not be read: "
                + "; ".join(platform.missing),
            )
        found = ", ".join(sorted(platform.predicate_types)) or "none"
        return (
            Status.NON_COMPLIANT,
            f"no {lacking} attestation (BuildKit attestation manifests checked; found: {found})",
        )
