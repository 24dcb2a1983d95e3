"""The CSV report: one row per tag × policy."""

from __future__ import annotations

import re

from auditor.reports.context import ReportContext
from auditor.reports.interface import ReportFormat

_FORMULA_STARTS = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _defuse(value: object) -> object:
    """Keep registry text from running as a formula or breaking the row structure."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub(" ", value)
    return "'" + value if value.lstrip().startswith(_FORMULA_STARTS) else value


class CsvReport(ReportFormat):
    """See the module docstring; the columns are `RESULT_COLUMNS`."""

    filename = "results.csv"

    def render(self, context: ReportContext) -> str:
        """See `ReportFormat.render`."""
        frame = context.results.map(_defuse)
        return str(frame.to_csv(index=False, lineterminator="\n"))
