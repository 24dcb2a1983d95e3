"""The CSV report: one row per tag × policy."""

from __future__ import annotations

from auditor.reports.context import ReportContext
from auditor.reports.interface import ReportFormat

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    """Keep spreadsheet programs from running cell text that came from a registry."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class CsvReport(ReportFormat):
    """See the module docstring; the columns are `RESULT_COLUMNS`."""

    filename = "results.csv"

    def render(self, context: ReportContext) -> str:
        """See `ReportFormat.render`."""
        frame = context.results.map(_defuse)
        return str(frame.to_csv(index=False, lineterminator="\n"))
