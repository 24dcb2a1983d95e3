"""The command line: sub-commands, exit codes and error messages, on the sample fleet."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.cli import ExitCode, _parser, main
from tests.conftest import REPO_ROOT
from tests.helpers import expected_statuses, table_sizes, verdicts_of_run


@pytest.fixture
def sample_config(write_config: Callable[[str], Path]) -> Path:
    fleet = REPO_ROOT / "config" / "sample-fleet"
    return write_config(
        f"""
database: out/audit.db
registries:
  - name: sample
    kind: layout
    path: {fleet}
reports: {{dir: out/reports}}
"""
    )


class TestRun:
    def test_sample_fleet_verdicts_reports_and_exit_code(
        self, sample_config: Path, sample_fleet: object, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", "--config", str(sample_config)]) == ExitCode.NON_COMPLIANT
        out = sample_config.parent / "out"
        expected = [e for r in sample_fleet.build_fleet() for e in r.expected]  # type: ignore[attr-defined]
        assert verdicts_of_run(out / "audit.db", 1) == expected_statuses(expected)
        latest = out / "reports" / "latest"
        assert latest.is_symlink() and latest.resolve() == (out / "reports" / "run-1").resolve()
        assert (latest / "report.html").is_file() and (latest / "results.csv").is_file()
        printed = capsys.readouterr().out
        assert "run 1 completed" in printed and "non-compliant" in printed

    def test_second_run_moves_latest_and_adds_no_history(self, sample_config: Path) -> None:
        main(["run", "--config", str(sample_config)])
        out = sample_config.parent / "out"
        sizes = table_sizes(out / "audit.db")
        main(["run", "--config", str(sample_config)])
        assert (out / "reports" / "latest").resolve().name == "run-2"
        assert table_sizes(out / "audit.db") == sizes

    def test_unreachable_layout_is_partial_and_keeps_known_tags(
        self, sample_config: Path, tmp_path: Path
    ) -> None:
        fleet_copy = tmp_path / "fleet"
        shutil.copytree(REPO_ROOT / "config" / "sample-fleet", fleet_copy)
        text = sample_config.read_text().replace(
            str(REPO_ROOT / "config" / "sample-fleet"), str(fleet_copy)
        )
        sample_config.write_text(text)
        main(["run", "--config", str(sample_config)])
        shutil.rmtree(fleet_copy)
        assert main(["run", "--config", str(sample_config)]) == ExitCode.PARTIAL
        statuses = verdicts_of_run(sample_config.parent / "out" / "audit.db", 2)
        assert statuses and set(statuses.values()) == {"unknown"}


class TestConfigErrors:
    def test_malformed_config_names_file_line_and_key(
        self, write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = write_config(
            """
registries:
  - name: local
    kind: oci
    url: http://127.0.0.1:1
    concurrency: many
"""
        )
        assert main(["run", "--config", str(path)]) == ExitCode.FAILED
        error = capsys.readouterr().err
        assert f"{path}:6" in error and "registries[0].concurrency" in error
        assert not (path.parent / "audit.db").exists()

    def test_invalid_yaml(
        self, write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = write_config("registries: [\n  - name: x\n")
        assert main(["check-config", "--config", str(path)]) == ExitCode.FAILED
        assert "not valid YAML" in capsys.readouterr().err

    def test_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == ExitCode.FAILED
        assert "nope.yaml" in capsys.readouterr().err

    def test_bad_config_loses_nothing_recorded(
        self, sample_config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["run", "--config", str(sample_config)])
        database = sample_config.parent / "out" / "audit.db"
        before = verdicts_of_run(database, 1)
        good = sample_config.read_text()
        sample_config.write_text(good + "policies:\n  - {id: p, type: no-such-policy}\n")
        assert main(["run", "--config", str(sample_config)]) == ExitCode.FAILED
        assert "policies[0].type" in capsys.readouterr().err
        assert verdicts_of_run(database, 1) == before

    def test_unknown_policy_option(
        self, sample_config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        sample_config.write_text(
            sample_config.read_text()
            + "policies:\n  - {id: p, type: default-non-root-user, with: {strict: true}}\n"
        )
        assert main(["check-config", "--config", str(sample_config)]) == ExitCode.FAILED
        assert "unknown option(s) strict" in capsys.readouterr().err

    def test_check_config_validates_without_running(
        self, sample_config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["check-config", "--config", str(sample_config)]) == ExitCode.CLEAN
        assert "valid" in capsys.readouterr().out
        assert not (sample_config.parent / "out").exists()

    def test_bad_arguments_exit_with_usage(self) -> None:
        with pytest.raises(SystemExit) as raised:
            main(["report", "--run", "abc"])
        assert raised.value.code == 2  # NOTE: argparse's own code for usage errors


class TestReport:
    def test_rerender_a_past_run_into_a_folder(self, sample_config: Path, tmp_path: Path) -> None:
        main(["run", "--config", str(sample_config)])
        main(["run", "--config", str(sample_config)])
        target = tmp_path / "again"
        assert (
            main(["report", "--config", str(sample_config), "--run", "1", "--output", str(target)])
            == 0
        )
        original = (sample_config.parent / "out" / "reports" / "run-1" / "results.csv").read_text()
        assert (target / "results.csv").read_text() == original
        assert (sample_config.parent / "out" / "reports" / "latest").resolve().name == "run-2"

    def test_unknown_run(self, sample_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        main(["run", "--config", str(sample_config)])
        assert main(["report", "--config", str(sample_config), "--run", "99"]) == ExitCode.FAILED
        assert "no run 99" in capsys.readouterr().err

    def test_no_run_yet(self, sample_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["report", "--config", str(sample_config)]) == ExitCode.FAILED
        assert "no completed run" in capsys.readouterr().err


def test_every_subcommand_has_help_and_is_documented() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert sub.format_help(), name
        assert f"auditor {name}" in readme, f"{name} is not in the README"
    for code in ExitCode:
        assert f"| {code.value} |" in readme, f"exit code {code.value} is not in the README"


def test_console_script_runs_as_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("auditor ")
