"""Tests of the CSV report: columns, one row per tag × policy, spreadsheet-safe cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

import pytest

from auditor.models import Digest, Status, TagRef, Verdict
from auditor.reports import RESULT_COLUMNS, CsvReport, build_context
from tests.factories import D1, recorded_run, verdict

REQUIRED = ("registry", "repository", "tag", "digest", "policy", "status", "reason")
FORMULAS = ['=HYPERLINK("https://evil.example")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1"]


def render(
    verdicts: Mapping[TagRef, Sequence[Verdict]],
    digests: Mapping[TagRef, Digest | None] | None = None,
) -> str:
    store, run_id = recorded_run(verdicts, digests=digests, config="auditor.yaml")
    return CsvReport().render(build_context(store, run_id))


def parse(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


TAGS = [
    TagRef("hub", "team/app", "latest"),
    TagRef("hub", "team/app", "1.2"),
    TagRef("ghcr", "acme/worker", "main"),
]


class TestCsvReport:
    def test_header_has_the_required_columns_in_order(self) -> None:
        header, _ = parse(render({}))

        positions = [header.index(column) for column in REQUIRED]
        assert positions == sorted(positions)
        assert header[:5] == list(REQUIRED[:5])
        assert header == list(RESULT_COLUMNS)

    def test_one_row_per_tag_and_policy(self) -> None:
        policies = ("non-root", "attested")

        _, rows = parse(render({ref: tuple(verdict(p) for p in policies) for ref in TAGS}))

        assert len(rows) == len(TAGS) * len(policies)
        assert {(r["registry"], r["repository"], r["tag"], r["policy"]) for r in rows} == {
            (t.registry, t.repository, t.tag, p) for t in TAGS for p in policies
        }

    def test_cells_carry_the_verdict(self) -> None:
        ref = TAGS[0]

        _, (row,) = parse(
            render({ref: (verdict("non-root", Status.NON_COMPLIANT, "runs as root"),)})
        )

        assert row["digest"] == D1
        assert row["status"] == "non_compliant"
        assert row["reason"] == "runs as root"
        assert row["remediation"] == "fix it"
        assert row["platforms"] == "linux/amd64=non_compliant"
        assert row["evidence"] == "linux/amd64 config User='app'"

    def test_unknown_digest_is_an_empty_cell(self) -> None:
        ref = TAGS[0]

        _, (row,) = parse(render({ref: (verdict("p", Status.UNKNOWN),)}, {ref: None}))

        assert row["digest"] == ""

    def test_awkward_text_round_trips(self) -> None:
        reason = 'runs as "app", then\nsays, "hi"'

        _, (row,) = parse(render({TAGS[0]: (verdict("p", reason=reason),)}))

        assert row["reason"] == reason.replace("\n", " ")

    @pytest.mark.parametrize("formula", FORMULAS)
    def test_formula_looking_reason_is_defused(self, formula: str) -> None:
        _, (row,) = parse(render({TAGS[0]: (verdict("p", reason=formula),)}))

        assert row["reason"] == "'" + formula.replace("\t", " ")

    def test_formula_looking_platform_is_defused(self) -> None:
        _, (row,) = parse(render({TAGS[0]: (verdict("p", platform="=cmd|' /C calc'!A0"),)}))

        assert row["platforms"].startswith("'=")
        assert row["evidence"].startswith("'=")

    def test_carriage_return_cannot_split_a_row(self) -> None:
        platform = "linux\r=1+1"

        _, rows = parse(render({TAGS[0]: (verdict("p", platform=platform),)}))

        # NOTE: control characters become spaces, so no reader can split the row.
        assert len(rows) == 1
        assert rows[0]["platforms"] == "linux =1+1=compliant"

    def test_ordinary_text_is_untouched(self) -> None:
        _, (row,) = parse(render({TAGS[0]: (verdict("p", reason="runs as 'a=b' -x"),)}))

        assert row["reason"] == "runs as 'a=b' -x"
        assert not any(value.startswith("'") for value in row.values())

    def test_empty_run_has_only_the_header(self) -> None:
        text = render({})

        assert text.splitlines() == [",".join(RESULT_COLUMNS)]
