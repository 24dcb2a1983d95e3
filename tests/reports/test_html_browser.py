"""The HTML report as a person sees it: loaded in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from auditor.cli import main
from tests.conftest import REPO_ROOT

CHROMIUM = shutil.which("chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class _RecordingHandler(SimpleHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def report_dir(write_config: Callable[[str], Path]) -> Path:
    path = write_config(
        f"""
database: audit.db
registries:
  - {{name: sample, kind: layout, path: {REPO_ROOT / "config" / "sample-fleet"}}}
reports: {{dir: reports}}
"""
    )
    main(["run", "--config", str(path)])
    return path.parent / "reports" / "latest"


@pytest.fixture
def served(report_dir: Path) -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_RecordingHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(report_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report.html", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by tests/run.sh")
def test_report_renders_and_requests_nothing_else(
    served: tuple[str, list[str]], tmp_path: Path, report_dir: Path
) -> None:
    url, seen = served
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = result.stdout
    csv_rows = (report_dir / "results.csv").read_text().strip().splitlines()[1:]
    assert len(re.findall(r'<tr class="result"', dom)) == len(csv_rows)
    for status in ("compliant", "non compliant", "unknown", "error"):
        assert f">{status}</span>" in dom, status
    assert "runs as root implicitly" in dom
    # NOTE: one request for the page itself, nothing else (no fonts, scripts, favicon).
    assert seen == ["/report.html"]
