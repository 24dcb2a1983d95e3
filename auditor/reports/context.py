"""The typed context every report format renders, built from the store alone.

Because the context is read from the database, any past run can be rendered again later
with exactly what was recorded then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from auditor.models import RequestCount, ScopeFailure, Status
from auditor.store import AuditStore, RunRecord

RESULT_COLUMNS = (
    "registry",
    "repository",
    "tag",
    "digest",
    "policy",
    "policy_type",
    "status",
    "reason",
    "remediation",
    "platforms",
    "evidence",
    "since_run",
)
"""The columns of `ReportContext.results`, in order; the CSV report writes them as they are."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicySummary:
    """How many tags each status holds for one policy."""

    policy: str
    policy_type: str
    counts: dict[str, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportContext:
    """Everything a report shows about one run."""

    run: RunRecord = field(metadata={"help": "The run's row: id, times, status and totals."})
    results: pd.DataFrame = field(
        metadata={"help": "One row per tag × policy, with the columns in RESULT_COLUMNS."}
    )
    policies: tuple[PolicySummary, ...] = field(
        metadata={"help": "Per policy, how many tags are in each status."}
    )
    failures: tuple[ScopeFailure, ...] = field(
        metadata={"help": "Registries and repositories that could not be listed in the run."}
    )
    requests: tuple[RequestCount, ...] = field(
        metadata={"help": "Requests made per registry and kind, with bytes and errors."}
    )
    platform_details: dict[tuple[str, str, str, str], list[dict[str, str]]] = field(
        metadata={"help": "Per (registry, repository, tag, policy), each platform's verdict."}
    )

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every status, in the order reports show them."""
        return tuple(s.value for s in Status)


def build_context(store: AuditStore, run_id: int) -> ReportContext:
    """Read run `run_id` from the store; raises `StoreError` when it does not exist."""
    run = store.run(run_id)
    rows = store.results(run_id)
    frame = pd.DataFrame(
        {
            # NOTE: "" rather than None, so neither pandas (NaN) nor a template shows "nan".
            **{c: [r[c] or "" for r in rows] for c in RESULT_COLUMNS[:9]},
            "platforms": [_platform_summary(r["platforms"]) for r in rows],
            "evidence": ["; ".join(json.loads(r["evidence"])) for r in rows],
            "since_run": [r["first_run"] for r in rows],
        },
        columns=list(RESULT_COLUMNS),
    )
    frame = frame.astype({c: "object" for c in RESULT_COLUMNS if c != "since_run"})
    policies = tuple(
        PolicySummary(
            policy=str(policy),
            policy_type=str(group["policy_type"].iloc[0]),
            counts={s.value: int((group["status"] == s.value).sum()) for s in Status},
        )
        for policy, group in frame.groupby("policy", sort=True)
    )
    details = {
        (r["registry"], r["repository"], r["tag"], r["policy"]): json.loads(r["platforms"])
        for r in rows
    }
    return ReportContext(
        run=run,
        results=frame,
        policies=policies,
        failures=store.failures(run_id),
        requests=tuple(store.requests(run_id)),
        platform_details=details,
    )


def _platform_summary(raw: str) -> str:
    platforms = json.loads(raw)
    return "; ".join(f"{p['platform']}={p['status']}" for p in platforms)
