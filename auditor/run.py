"""One audit run: list every tag, resolve new digests, judge, record, render.

The CLI and the scheduler both call `run_once`. Listing and resolving are async, bounded
per registry by the provider's own concurrency; the registries are audited side by side.
Failures never shrink the fleet: whatever could not be listed or read is recorded as
unknown for this run, with the reason, and the history of what was seen before stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from auditor.config import Settings
from auditor.errors import ContentError, RegistryError
from auditor.evidence.resolver import Resolver
from auditor.models import (
    Digest,
    ImageFacts,
    ListedTag,
    RequestCount,
    ScopeFailure,
    Status,
    TagObservation,
    TagRef,
    Verdict,
)
from auditor.policies import Policy, build_policies, evaluate, unevaluated
from auditor.registries import RegistryProvider, provider_for
from auditor.registries.interface import REPOSITORY_PATTERN, TAG_PATTERN
from auditor.reports import write_reports
from auditor.store import AuditStore, RunRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOutcome:
    """What a finished run recorded and where its reports are."""

    run: RunRecord
    failures: tuple[ScopeFailure, ...]
    requests: tuple[RequestCount, ...]
    report_dir: Path | None


@dataclass(kw_only=True)
class _RegistryAudit:
    """What auditing one registry produced, before it is written."""

    observations: list[TagObservation] = field(default_factory=list)
    verdicts: dict[TagRef, tuple[Verdict, ...]] = field(default_factory=dict)
    failures: list[ScopeFailure] = field(default_factory=list)
    facts: list[ImageFacts] = field(default_factory=list)
    repositories: list[str] | None = None
    complete: list[tuple[str, str]] = field(default_factory=list)
    requests: list[RequestCount] = field(default_factory=list)


def now() -> str:
    """The current UTC time as an ISO 8601 string, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def run_once(settings: Settings, *, config_label: str) -> RunOutcome:
    """Audit every configured registry once, record the run, and render its reports.

    Raises `AuditorError` subclasses when the run cannot happen at all (configuration,
    database); registry trouble is recorded in the run instead.
    """
    policies = build_policies(settings.policies)
    store = AuditStore.open(settings.database)
    try:
        run_id = store.start_run(now(), config_label)
        logger.info("run %d started", run_id)
        try:
            audits = asyncio.run(_audit_all(settings, policies, store))
            record = store.record_run(
                run_id,
                finished_at=now(),
                observations=[o for a in audits for o in a.observations],
                verdicts={ref: v for a in audits for ref, v in a.verdicts.items()},
                listed={
                    r.name: a.repositories for r, a in zip(settings.registries, audits, strict=True)
                },
                complete_repositories=[c for a in audits for c in a.complete],
                facts=[f for a in audits for f in a.facts],
                failures=[f for a in audits for f in a.failures],
                requests=[r for a in audits for r in a.requests],
            )
        except BaseException:
            store.fail_run(run_id, now())
            raise
        report_dir = (
            write_reports(store, run_id, settings.reports) if settings.reports.formats else None
        )
        return RunOutcome(
            run=record,
            failures=store.failures(run_id),
            requests=tuple(store.requests(run_id)),
            report_dir=report_dir,
        )
    finally:
        store.close()


async def _audit_all(
    settings: Settings, policies: Sequence[Policy], store: AuditStore
) -> list[_RegistryAudit]:
    providers = [provider_for(r) for r in settings.registries]
    try:
        return list(await asyncio.gather(*(_audit(p, policies, store) for p in providers)))
    finally:
        for provider in providers:
            await provider.aclose()


async def _audit(
    provider: RegistryProvider, policies: Sequence[Policy], store: AuditStore
) -> _RegistryAudit:
    audit = _RegistryAudit()
    registry = provider.name
    try:
        repositories = await provider.list_repositories()
    except RegistryError as error:
        logger.warning("registry %s could not be listed: %s", registry, error)
        reason = f"registry {registry} could not be listed: {error}"
        audit.failures.append(ScopeFailure(registry=registry, repository=None, message=str(error)))
        _mark_unknown(audit, policies, store.current_tags(registry), reason)
        audit.requests = provider.requests.snapshot(registry)
        return audit

    valid = [r for r in repositories if REPOSITORY_PATTERN.match(r)]
    for name in sorted(set(repositories) - set(valid)):
        audit.failures.append(
            ScopeFailure(
                registry=registry, repository=name[:200], message="invalid repository name ignored"
            )
        )
    audit.repositories = valid
    listings = await asyncio.gather(*(_list_tags(provider, r) for r in valid))

    pending: list[tuple[TagRef, ListedTag]] = []
    for repository, tags_or_error in zip(valid, listings, strict=True):
        if isinstance(tags_or_error, RegistryError):
            logger.warning(
                "%s/%s: tags could not be listed: %s", registry, repository, tags_or_error
            )
            audit.failures.append(
                ScopeFailure(registry=registry, repository=repository, message=str(tags_or_error))
            )
            reason = f"tags of {repository} could not be listed: {tags_or_error}"
            _mark_unknown(audit, policies, store.current_tags(registry, repository), reason)
            continue
        audit.complete.append((registry, repository))
        for listed in tags_or_error:
            if TAG_PATTERN.match(listed.name):
                pending.append((TagRef(registry, repository, listed.name), listed))
            else:
                audit.failures.append(
                    ScopeFailure(
                        registry=registry,
                        repository=repository,
                        message=f"invalid tag name {listed.name[:130]!r} ignored",
                    )
                )

    digests = await asyncio.gather(*(_digest_of(provider, ref, listed) for ref, listed in pending))
    located: dict[Digest, str] = {}
    resolved_refs: list[tuple[TagRef, Digest]] = []
    unreadable: dict[str, list[str]] = {}
    for (ref, _), digest_or_error in zip(pending, digests, strict=True):
        if isinstance(digest_or_error, RegistryError):
            reason = f"the tag's digest could not be read: {digest_or_error}"
            _mark_unknown(audit, policies, [TagObservation(ref=ref, digest=None)], reason)
            unreadable.setdefault(ref.repository, []).append(str(digest_or_error))
            continue
        audit.observations.append(TagObservation(ref=ref, digest=digest_or_error))
        resolved_refs.append((ref, digest_or_error))
        located.setdefault(digest_or_error, ref.repository)

    facts = store.known_facts(located)
    missing = [d for d in located if d not in facts]
    logger.info(
        "%s: %d tags, %d digests, %d already known",
        registry,
        len(pending),
        len(located),
        len(facts),
    )
    resolver = Resolver(provider)
    resolutions = await asyncio.gather(*(_resolve(resolver, located[d], d) for d in missing))
    problems: dict[Digest, str] = {}
    for digest, facts_or_error in zip(missing, resolutions, strict=True):
        if isinstance(facts_or_error, RegistryError):
            problems[digest] = str(facts_or_error)
        elif isinstance(facts_or_error, ContentError):
            # NOTE: served bytes that fail their digest or size limit are judged an error
            # for this run but not cached: the next run may be served the real content.
            facts[digest] = ImageFacts(digest=digest, media_type="", invalid=str(facts_or_error))
        else:
            facts[digest] = facts_or_error
            audit.facts.append(facts_or_error)

    for ref, digest in resolved_refs:
        if digest in problems:
            audit.verdicts[ref] = unevaluated(
                policies,
                Status.UNKNOWN,
                f"the image {digest} could not be read: {problems[digest]}",
            )
            unreadable.setdefault(ref.repository, []).append(problems[digest])
        else:
            audit.verdicts[ref] = evaluate(policies, facts[digest])
    # NOTE: one line per repository, not per tag: a registry that died mid-run would
    # otherwise flood the run record with thousands of copies of the same message.
    audit.failures.extend(
        ScopeFailure(
            registry=registry,
            repository=repository,
            message=f"{len(errors)} tag(s) could not be read, e.g.: {errors[0]}",
        )
        for repository, errors in sorted(unreadable.items())
    )
    audit.requests = provider.requests.snapshot(registry)
    return audit


def _mark_unknown(
    audit: _RegistryAudit,
    policies: Sequence[Policy],
    tags: Sequence[TagObservation],
    reason: str,
) -> None:
    for tag in tags:
        audit.observations.append(TagObservation(ref=tag.ref, digest=None, problem=reason))
        audit.verdicts[tag.ref] = unevaluated(policies, Status.UNKNOWN, reason)


async def _list_tags(
    provider: RegistryProvider, repository: str
) -> list[ListedTag] | RegistryError:
    try:
        return await provider.list_tags(repository)
    except RegistryError as error:
        return error


async def _digest_of(
    provider: RegistryProvider, ref: TagRef, listed: ListedTag
) -> Digest | RegistryError:
    if listed.digest is not None:
        return listed.digest
    try:
        return await provider.tag_digest(ref.repository, ref.tag)
    except RegistryError as error:
        return error


async def _resolve(
    resolver: Resolver, repository: str, digest: Digest
) -> ImageFacts | RegistryError | ContentError:
    try:
        return await resolver.resolve(repository, digest)
    except (RegistryError, ContentError) as error:
        return error
