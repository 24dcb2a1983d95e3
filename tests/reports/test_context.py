"""Tests of the report context built from the store, and of the HTML report rendering it."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence

import pytest

from auditor.errors import StoreError
from auditor.models import RequestCount, ScopeFailure, Status, TagRef, Verdict
from auditor.reports import RESULT_COLUMNS, HtmlReport, ReportContext, build_context
from tests import factories
from tests.factories import D1, recorded_run

HOSTILE = "<script>alert('pwned')</script>"
HOSTILE_IMG = '"><img src="https://evil.example/x.png" onerror="alert(1)">'


def verdict(
    policy: str,
    status: Status,
    reason: str,
    *,
    platforms: Sequence[tuple[str, Status, str]] = (),
    evidence: Sequence[str] = (),
) -> Verdict:
    """A verdict whose policy type is named after `policy`; no platforms unless given."""
    return factories.verdict(
        policy, status, reason, policy_type=f"{policy}-type", platforms=platforms, evidence=evidence
    )


APP = TagRef("hub", "team/app", "latest")
DB = TagRef("hub", "team/db", "1.0")


@pytest.fixture
def context() -> ReportContext:
    store, run_id = recorded_run(
        {
            APP: (
                verdict(
                    "non-root",
                    Status.NON_COMPLIANT,
                    "1 of 2 platforms non_compliant",
                    platforms=[
                        ("linux/amd64", Status.COMPLIANT, "runs as 'app'"),
                        ("linux/arm64", Status.NON_COMPLIANT, "runs as root"),
                    ],
                    evidence=["linux/amd64 config User='app'", "linux/arm64 config User='root'"],
                ),
                verdict("attested", Status.COMPLIANT, "SBOM and provenance attested"),
            ),
            DB: (
                verdict("non-root", Status.UNKNOWN, "tags could not be listed"),
                verdict("attested", Status.UNKNOWN, "tags could not be listed"),
            ),
        },
        digests={APP: D1, DB: None},
        failures=[ScopeFailure(registry="hub", repository="team/db", message="503")],
        requests=[RequestCount(registry="hub", kind="manifest", count=4, bytes=1200, errors=1)],
    )
    return build_context(store, run_id)


class TestReportContext:
    def test_every_field_is_documented(self) -> None:
        for field in dataclasses.fields(ReportContext):
            assert field.metadata.get("help"), f"ReportContext.{field.name} has no help"

    def test_results_have_the_documented_columns(self, context: ReportContext) -> None:
        assert tuple(context.results.columns) == RESULT_COLUMNS
        assert len(context.results) == 4

    def test_results_rows(self, context: ReportContext) -> None:
        rows = {(r["repository"], r["policy"]): r for r in context.results.to_dict("records")}

        app = rows[("team/app", "non-root")]
        assert app["status"] == "non_compliant"
        assert app["digest"] == D1
        assert app["remediation"] == "fix it"
        assert app["platforms"] == "linux/amd64=compliant; linux/arm64=non_compliant"
        assert app["evidence"] == "linux/amd64 config User='app'; linux/arm64 config User='root'"
        assert app["since_run"] == context.run.id
        assert not rows[("team/db", "attested")]["digest"], "an unknown digest stays empty"

    def test_policy_summaries(self, context: ReportContext) -> None:
        summaries = {p.policy: p for p in context.policies}

        assert set(summaries) == {"non-root", "attested"}
        assert summaries["non-root"].policy_type == "non-root-type"
        assert summaries["non-root"].counts == {
            "compliant": 0,
            "non_compliant": 1,
            "unknown": 1,
            "error": 0,
        }
        assert summaries["attested"].counts["compliant"] == 1

    def test_platform_details(self, context: ReportContext) -> None:
        details = context.platform_details[("hub", "team/app", "latest", "non-root")]

        assert [(d["platform"], d["status"]) for d in details] == [
            ("linux/amd64", "compliant"),
            ("linux/arm64", "non_compliant"),
        ]
        assert context.platform_details[("hub", "team/db", "1.0", "attested")] == []

    def test_run_failures_and_requests(self, context: ReportContext) -> None:
        assert context.run.status == "partial"
        assert context.run.tags == 2
        assert [f.repository for f in context.failures] == ["team/db"]
        assert [(r.kind, r.count) for r in context.requests] == [("manifest", 4)]

    def test_statuses_cover_every_status(self, context: ReportContext) -> None:
        assert set(context.statuses) == {s.value for s in Status}

    def test_unknown_run(self) -> None:
        store, run_id = recorded_run({})

        with pytest.raises(StoreError):
            build_context(store, run_id + 1)

    def test_empty_run(self) -> None:
        store, run_id = recorded_run({})

        context = build_context(store, run_id)

        assert context.results.empty
        assert tuple(context.results.columns) == RESULT_COLUMNS
        assert context.policies == ()


class TestHtmlReport:
    @pytest.fixture
    def hostile(self) -> str:
        store, run_id = recorded_run(
            {
                APP: (
                    verdict(
                        "non-root",
                        Status.NON_COMPLIANT,
                        f"runs as {HOSTILE}",
                        platforms=[
                            (HOSTILE_IMG, Status.NON_COMPLIANT, HOSTILE),
                            ("linux/arm64", Status.COMPLIANT, "ok"),
                        ],
                        evidence=[f"User={HOSTILE}"],
                    ),
                ),
            },
            failures=[ScopeFailure(registry="hub", repository="team/app", message=HOSTILE)],
            config=f"/etc/{HOSTILE}.yaml",
        )
        return HtmlReport().render(build_context(store, run_id))

    def test_hostile_text_is_escaped(self, hostile: str) -> None:
        assert "<script" not in hostile.lower()
        assert "&lt;script&gt;alert(" in hostile
        assert "<img" not in hostile.lower()
        assert 'onerror="' not in hostile

    def test_hostile_text_is_still_shown(self, hostile: str) -> None:
        assert html.unescape(hostile).count(HOSTILE) >= 4, "reason, platform, evidence, failure"

    def test_content_security_policy(self, hostile: str) -> None:
        csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', hostile)
        assert csp is not None
        directives = [d.strip() for d in csp.group(1).split(";")]
        assert "default-src 'none'" in directives
        assert not any("script-src" in d for d in directives)

    def test_no_remote_resources(self, hostile: str) -> None:
        assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", hostile, re.I)

    def test_shows_every_result(self, context: ReportContext) -> None:
        page = HtmlReport().render(context)

        assert len(re.findall(r'<tr class="result"', page)) == len(context.results)
        assert "1 of 2 platforms non_compliant" in page
        assert "fix it" in page
        assert "2 platforms" in page
        assert 'id="failures"' in page

    def test_renders_an_empty_run(self) -> None:
        store, run_id = recorded_run({})

        page = HtmlReport().render(build_context(store, run_id))

        assert '<tr class="result"' not in page
        assert f"run {run_id}" in page
