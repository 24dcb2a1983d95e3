"""The report interface: a pure renderer from a `ReportContext` to text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from auditor.reports.context import ReportContext


class ReportFormat(ABC):
    """Renders one output format; writing the file is the caller's job."""

    filename: ClassVar[str]
    """The file name the rendered report is written to inside the run's folder."""

    @abstractmethod
    def render(self, context: ReportContext) -> str:  # pragma: no cover
        """Return the report for `context` as text."""
