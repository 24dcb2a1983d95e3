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
    auditor = _RegistryAuditor(provider, policies, store)
    try:
        pending = await auditor.list_tags()
    except RegistryError as error:
        auditor.registry_unlisted(error)
    else:
        await auditor.judge(await auditor.locate(pending))
    return auditor.finish()


class _RegistryAuditor:
    """Audits one registry in three steps: list, locate (tag → digest), judge."""

    def __init__(
        self, provider: RegistryProvider, policies: Sequence[Policy], store: AuditStore
    ) -> None:
        self.provider = provider
        self.registry = provider.name
        self.policies = policies
        self.store = store
        self.audit = _RegistryAudit()
        self.unreadable: dict[str, list[str]] = {}

    async def list_tags(self) -> list[tuple[TagRef, ListedTag]]:
        """List repositories and their tags; raises `RegistryError` if the registry cannot."""
        repositories = await self.provider.list_repositories()
        valid = [r for r in repositories if REPOSITORY_PATTERN.match(r)]
        for name in sorted(set(repositories) - set(valid)):
            self._fail(name[:200], "invalid repository name ignored")
        self.audit.repositories = valid
        listings = await asyncio.gather(*(_list_tags(self.provider, r) for r in valid))
        pending: list[tuple[TagRef, ListedTag]] = []
        for repository, tags_or_error in zip(valid, listings, strict=True):
            if isinstance(tags_or_error, RegistryError):
                logger.warning(
                    "%s/%s: tags not listed: %s", self.registry, repository, tags_or_error
                )
                self._fail(repository, str(tags_or_error))
                self._mark_unknown(
                    self.store.current_tags(self.registry, repository),
                    f"tags of {repository} could not be listed: {tags_or_error}",
                )
                continue
            self.audit.complete.append((self.registry, repository))
            for listed in tags_or_error:
                if TAG_PATTERN.match(listed.name):
                    pending.append((TagRef(self.registry, repository, listed.name), listed))
                else:
                    self._fail(repository, f"invalid tag name {listed.name[:130]!r} ignored")
        return pending

    async def locate(self, pending: list[tuple[TagRef, ListedTag]]) -> dict[TagRef, Digest]:
        """Find each tag's digest (free from some listings, else one ``HEAD``)."""
        digests = await asyncio.gather(
            *(_digest_of(self.provider, ref, listed) for ref, listed in pending)
        )
        located: dict[TagRef, Digest] = {}
        for (ref, _), digest_or_error in zip(pending, digests, strict=True):
            if isinstance(digest_or_error, RegistryError):
                self._mark_unknown(
                    [TagObservation(ref=ref, digest=None)],
                    f"the tag's digest could not be read: {digest_or_error}",
                )
                self.unreadable.setdefault(ref.repository, []).append(str(digest_or_error))
                continue
            self.audit.observations.append(TagObservation(ref=ref, digest=digest_or_error))
            located[ref] = digest_or_error
        return located

    async def judge(self, located: dict[TagRef, Digest]) -> None:
        """Resolve the digests not known yet, then judge every located tag."""
        repository_of: dict[Digest, str] = {}
        for ref, digest in located.items():
            repository_of.setdefault(digest, ref.repository)
        facts = self.store.known_facts(repository_of)
        missing = [d for d in repository_of if d not in facts]
        logger.info(
            "%s: %d tags, %d digests, %d already known",
            self.registry,
            len(located),
            len(repository_of),
            len(facts),
        )
        resolver = Resolver(self.provider)
        resolutions = await asyncio.gather(
            *(_resolve(resolver, repository_of[d], d) for d in missing)
        )
        problems: dict[Digest, str] = {}
        for digest, facts_or_error in zip(missing, resolutions, strict=True):
            if isinstance(facts_or_error, RegistryError):
                problems[digest] = str(facts_or_error)
            elif isinstance(facts_or_error, ContentError):
                # NOTE: served bytes that fail their digest or size limit are judged an error
                # for this run but not cached: the next run may be served the real content.
                facts[digest] = ImageFacts(
                    digest=digest, media_type="", invalid=str(facts_or_error)
                )
            else:
                facts[digest] = facts_or_error
                self.audit.facts.append(facts_or_error)
        for ref, digest in located.items():
            if digest in problems:
                self.audit.verdicts[ref] = unevaluated(
                    self.policies,
                    Status.UNKNOWN,
                    f"the image {digest} could not be read: {problems[digest]}",
                )
                self.unreadable.setdefault(ref.repository, []).append(problems[digest])
            else:
                self.audit.verdicts[ref] = evaluate(self.policies, facts[digest])

    def registry_unlisted(self, error: RegistryError) -> None:
        """The registry itself could not be listed: every tag known of it is unknown."""
        logger.warning("registry %s could not be listed: %s", self.registry, error)
        self._fail(None, str(error))
        self._mark_unknown(
            self.store.current_tags(self.registry),
            f"registry {self.registry} could not be listed: {error}",
        )

    def finish(self) -> _RegistryAudit:
        """Summarise unreadable tags per repository and attach the request counts."""
        # NOTE: one line per repository, not per tag: a registry that died mid-run would
        # otherwise flood the run record with thousands of copies of the same message.
        for repository, errors in sorted(self.unreadable.items()):
            self._fail(repository, f"{len(errors)} tag(s) could not be read, e.g.: {errors[0]}")
        self.audit.requests = self.provider.requests.snapshot(self.registry)
        return self.audit

    def _fail(self, repository: str | None, message: str) -> None:
        self.audit.failures.append(
            ScopeFailure(registry=self.registry, repository=repository, message=message)
        )

    def _mark_unknown(self, tags: Sequence[TagObservation], reason: str) -> None:
        for tag in tags:
            self.audit.observations.append(TagObservation(ref=tag.ref, digest=None, problem=reason))
            self.audit.verdicts[tag.ref] = unevaluated(self.policies, Status.UNKNOWN, reason)


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
