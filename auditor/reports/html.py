"""The HTML report: one self-contained file that makes no request of its own."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from auditor.reports.context import ReportContext
from auditor.reports.interface import ReportFormat


class HtmlReport(ReportFormat):
    """Renders ``templates/report.html.j2``; everything is escaped, styles are inline."""

    filename = "report.html"

    def __init__(self) -> None:
        self._environment = Environment(
            loader=PackageLoader("auditor.reports", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, context: ReportContext) -> str:
        """See `ReportFormat.render`."""
        template = self._environment.get_template("report.html.j2")
        return template.render(
            ctx=context,
            rows=context.results.to_dict("records"),
        )
