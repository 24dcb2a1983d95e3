"""The command line: argument parsing, output and exit codes. The only module that prints."""

from __future__ import annotations

import argparse
import enum
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.config import Settings, config_path, load_config
from auditor.errors import AuditorError
from auditor.policies import build_policies
from auditor.reports import write_reports
from auditor.run import RunOutcome, run_once
from auditor.store import AuditStore

logger = logging.getLogger("auditor")


@enum.unique
class ExitCode(enum.IntEnum):
    """The documented exit codes (see the README)."""

    CLEAN = 0
    """The run completed and no tag is non-compliant."""
    FAILED = 1
    """The command could not do its job: bad configuration, database or arguments."""
    NON_COMPLIANT = 2
    """The run completed and at least one tag is non-compliant (as ``docker scout policy -e``)."""
    PARTIAL = 3
    """Nothing non-compliant was found, but some registry or repository could not be audited."""


def exit_code_for(outcome: RunOutcome) -> ExitCode:
    """Non-compliance outranks a partial run: it is what someone must act on."""
    if outcome.run.non_compliant:
        return ExitCode.NON_COMPLIANT
    if outcome.run.status == "partial":
        return ExitCode.PARTIAL
    return ExitCode.CLEAN


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditor",
        description="Audit every tag of every registry in a fleet against image policies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = "configuration file (default: $AUDITOR_CONFIG or config/auditor.yaml)"

    run = commands.add_parser("run", help="audit the fleet once, record it and write reports")
    run.add_argument("--config", metavar="FILE", help=config_help)

    report = commands.add_parser("report", help="render the reports of a recorded run again")
    report.add_argument("--config", metavar="FILE", help=config_help)
    report.add_argument("--run", type=int, metavar="ID", help="run id (default: the latest)")
    report.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="folder to write to (default: <reports dir>/run-<ID>)",
    )

    check = commands.add_parser("check-config", help="validate the configuration without running")
    check.add_argument("--config", metavar="FILE", help=config_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # NOTE: httpx logs every request URL at INFO; keep that to -vv.
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose > 1 else logging.WARNING)
    try:
        path = config_path(args.config)
        settings = load_config(path)
        if args.command == "run":
            return _run(settings, path)
        if args.command == "report":
            return _report(settings, args.run, args.output)
        return _check(settings, path)
    except AuditorError as error:
        print(f"auditor: error: {error.diagnostics()}", file=sys.stderr)
        if args.verbose:
            raise
        return ExitCode.FAILED


def _run(settings: Settings, path: Path) -> int:
    outcome = run_once(settings, config_label=str(path))
    run = outcome.run
    print(
        f"run {run.id} {run.status}: {run.tags} tags, {run.compliant} compliant, "
        f"{run.non_compliant} non-compliant, {run.unknown} unknown, {run.error} error "
        f"(verdicts across {len(settings.policies)} policies)"
    )
    for failure in outcome.failures:
        scope = failure.registry + (f"/{failure.repository}" if failure.repository else "")
        print(f"  not audited: {scope}: {failure.message}")
    requests = sum(r.count for r in outcome.requests)
    print(f"  requests: {requests}")
    if outcome.report_dir is not None:
        print(f"  reports: {outcome.report_dir}")
    return exit_code_for(outcome)


def _report(settings: Settings, run_id: int | None, output: Path | None) -> int:
    store = AuditStore.open(settings.database)
    try:
        chosen = run_id if run_id is not None else store.latest_run_id()
        if chosen is None:
            raise AuditorError(f"{settings.database} holds no completed run yet: run `auditor run`")
        folder = write_reports(store, chosen, settings.reports, output)
    finally:
        store.close()
    print(f"reports of run {chosen}: {folder}")
    return ExitCode.CLEAN


def _check(settings: Settings, path: Path) -> int:
    build_policies(settings.policies)
    print(
        f"{path}: valid: {len(settings.registries)} registries, {len(settings.policies)} policies, "
        f"database {settings.database}"
    )
    return ExitCode.CLEAN
