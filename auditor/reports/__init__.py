"""Report formats, one module each, and writing a run's reports to disk."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.config import ReportSettings
from auditor.errors import ReportError
from auditor.reports.context import RESULT_COLUMNS, ReportContext, build_context
from auditor.reports.csv import CsvReport
from auditor.reports.html import HtmlReport
from auditor.reports.interface import ReportFormat
from auditor.store import AuditStore

FORMATS: dict[str, type[ReportFormat]] = {"html": HtmlReport, "csv": CsvReport}
"""Every report format by the name the configuration uses."""


def write_reports(
    store: AuditStore, run_id: int, settings: ReportSettings, output: Path | None = None
) -> Path:
    """Render run `run_id` in every configured format; returns the folder written.

    The folder is ``<dir>/run-<id>``, and ``<dir>/latest`` is pointed at the newest run's
    folder (only when writing into the configured folder).
    """
    context = build_context(store, run_id)
    folder = output if output is not None else settings.dir / f"run-{run_id}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in settings.formats:
            report = FORMATS[name]()
            (folder / report.filename).write_text(report.render(context), encoding="utf-8")
        if output is None and run_id == store.latest_run_id():
            _point_latest(settings.dir, folder.name)
    except OSError as error:
        raise ReportError(f"cannot write reports to {folder}: {error.strerror}") from error
    return folder


def _point_latest(base: Path, target: str) -> None:
    link = base / "latest"
    temporary = base / ".latest.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)  # NOTE: atomic, so readers never see a missing link


__all__ = [
    "FORMATS",
    "RESULT_COLUMNS",
    "CsvReport",
    "HtmlReport",
    "ReportContext",
    "ReportFormat",
    "build_context",
    "write_reports",
]
