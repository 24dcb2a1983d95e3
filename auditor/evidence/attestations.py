"""BuildKit attestation manifests inside an image index, in both layouts.

The legacy layout and the OCI-artifact layout both put an extra index entry with
``vnd.docker.reference.type: attestation-manifest`` whose ``vnd.docker.reference.digest``
names the platform manifest it describes; each layer of that manifest is one in-toto
statement whose predicate type is in the layer annotation ``in-toto.io/predicate-type``
(moby/buildkit ``docs/attestations/attestation-storage.md``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from auditor.evidence.manifests import Descriptor, Document

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
PREDICATE_TYPE = "in-toto.io/predicate-type"
IN_TOTO_LAYER = "application/vnd.in-toto+json"
OCI_ARTIFACT_TYPE = "application/vnd.docker.attestation.manifest.v1+json"
MAX_STATEMENT_BYTES = 16 * 1024 * 1024

SBOM_TYPES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")
PROVENANCE_TYPE = "https://slsa.dev/provenance"


def is_attestation_entry(descriptor: Descriptor) -> bool:
    """True for an index entry that holds attestations rather than a runnable image."""
    return descriptor.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST


def attestations_by_subject(entries: Iterable[Descriptor]) -> dict[str, list[Descriptor]]:
    """Group an index's attestation entries by the platform manifest digest they describe."""
    grouped: dict[str, list[Descriptor]] = defaultdict(list)
    for entry in entries:
        subject = entry.annotations.get(REFERENCE_DIGEST)
        if is_attestation_entry(entry) and subject:
            grouped[subject].append(entry)
    return grouped


def source_label(manifest: Document) -> str:
    """Name the layout an attestation manifest uses, for the evidence trail."""
    if manifest.artifact_type == OCI_ARTIFACT_TYPE:
        return "buildkit-index (oci-artifact)"
    return "buildkit-index"


def statement_layers(manifest: Document) -> list[Descriptor]:
    """The layers of an attestation manifest that hold in-toto statements."""
    return [layer for layer in manifest.layers if layer.media_type == IN_TOTO_LAYER]


def is_sbom(predicate_type: str) -> bool:
    """True for SPDX and CycloneDX SBOM predicates (any version)."""
    return any(_is_version_of(predicate_type, base) for base in SBOM_TYPES)


def is_provenance(predicate_type: str) -> bool:
    """True for SLSA provenance predicates (v0.2, v1, ...)."""
    return predicate_type.startswith(PROVENANCE_TYPE + "/")


def _is_version_of(predicate_type: str, base: str) -> bool:
    """``base`` itself or ``base/<version>``, e.g. ``https://cyclonedx.org/bom/v1.5``."""
    return predicate_type == base or predicate_type.startswith(base + "/")
