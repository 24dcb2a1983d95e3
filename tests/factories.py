"""Builders of model values for the unit tests: platform and image facts, verdicts, runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from auditor.models import (
    Digest,
    ImageFacts,
    PlatformFacts,
    PlatformVerdict,
    RequestCount,
    ScopeFailure,
    Status,
    TagObservation,
    TagRef,
    Verdict,
)
from auditor.store import AuditStore

D1 = Digest("sha256:" + "a1" * 32)
D2 = Digest("sha256:" + "b2" * 32)
IMAGE_DIGEST = Digest("sha256:" + "11" * 32)
PLATFORM_DIGEST = Digest("sha256:" + "22" * 32)
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"


def platform_facts(**fields: Any) -> PlatformFacts:
    """A runnable ``linux/amd64`` image manifest whose config runs as ``app``; `fields` override."""
    values: dict[str, Any] = {
        "platform": "linux/amd64",
        "digest": PLATFORM_DIGEST,
        "media_type": MEDIA_MANIFEST,
        "config_media_type": MEDIA_CONFIG,
        "is_image": True,
        "user": "app",
    }
    values.update(fields)
    return PlatformFacts(**values)


def image_facts(*platforms: PlatformFacts, **fields: Any) -> ImageFacts:
    """An OCI index of `platforms` at `IMAGE_DIGEST`; `fields` override the other fields."""
    values: dict[str, Any] = {"digest": IMAGE_DIGEST, "media_type": MEDIA_INDEX}
    values.update(fields)
    return ImageFacts(platforms=platforms, **values)


def verdict(
    policy: str = "non-root",
    status: Status = Status.COMPLIANT,
    reason: str = "ok",
    *,
    policy_type: str = "default-non-root-user",
    remediation: str = "fix it",
    platform: str = "linux/amd64",
    platforms: Sequence[tuple[str, Status, str]] | None = None,
    evidence: Sequence[str] | None = None,
) -> Verdict:
    """A verdict of `policy`, with `remediation` only when it is non-compliant.

    Without `platforms`, the one `platform` (digest `D1`) has the verdict's status and reason;
    without `evidence`, each platform's config is said to run as ``app``.
    """
    if platforms is None:
        platforms = [(platform, status, reason)]
    if evidence is None:
        evidence = [f"{name} config User='app'" for name, _, _ in platforms]
    return Verdict(
        policy_id=policy,
        policy_type=policy_type,
        status=status,
        reason=reason,
        remediation=remediation if status is Status.NON_COMPLIANT else None,
        platforms=tuple(PlatformVerdict(p, D1, s, r) for p, s, r in platforms),
        evidence=tuple(evidence),
    )


class Recorder:
    """Starts and records runs into `store`, one a day from 2026-01-01, with defaults.

    `listed` and `complete` are what each run says of the registries' listings unless the run
    says otherwise; `default_verdict` judges every tag of a run that is given no verdicts.
    """

    def __init__(
        self,
        store: AuditStore,
        *,
        config: str = "test.yaml",
        listed: Mapping[str, Sequence[str] | None] | None = None,
        complete: Iterable[tuple[str, str]] = (),
        default_verdict: Callable[[], Verdict] = verdict,
    ) -> None:
        self.store = store
        self.config = config
        self.listed: Mapping[str, Sequence[str] | None] = listed or {}
        self.complete = complete
        self.default_verdict = default_verdict
        self.clock = 0

    def run(
        self,
        tags: Mapping[TagRef, Digest | None],
        verdicts: Mapping[TagRef, Sequence[Verdict]] | None = None,
        *,
        listed: Mapping[str, Sequence[str] | None] | None = None,
        complete: Iterable[tuple[str, str]] | None = None,
        facts: Iterable[ImageFacts] = (),
        failures: Sequence[ScopeFailure] = (),
        requests: Sequence[RequestCount] = (),
    ) -> int:
        self.clock += 1
        run_id = self.store.start_run(f"2026-01-{self.clock:02d}T02:00:00+00:00", self.config)
        self.store.record_run(
            run_id,
            finished_at=f"2026-01-{self.clock:02d}T02:05:00+00:00",
            observations=[TagObservation(ref=ref, digest=d) for ref, d in tags.items()],
            verdicts=(
                verdicts
                if verdicts is not None
                else {ref: (self.default_verdict(),) for ref in tags}
            ),
            listed=self.listed if listed is None else listed,
            complete_repositories=self.complete if complete is None else complete,
            facts=facts,
            failures=failures,
            requests=requests,
        )
        return run_id


def recorded_run(
    verdicts: Mapping[TagRef, Sequence[Verdict]],
    *,
    digests: Mapping[TagRef, Digest | None] | None = None,
    failures: Sequence[ScopeFailure] = (),
    requests: Sequence[RequestCount] = (),
    config: str = "config/auditor.yaml",
) -> tuple[AuditStore, int]:
    """A new in-memory store holding one run of `verdicts`; each tag at `D1` unless in `digests`."""
    store = AuditStore(Database(memory=True))
    tags = {ref: (digests or {}).get(ref, D1) for ref in verdicts}
    run_id = Recorder(store, config=config).run(
        tags, verdicts, failures=failures, requests=requests
    )
    return store, run_id
