"""report in a real browser: headless Chromium renders index.html, runs its script and screenshots it.

Skips (with the reason) where Chromium is not installed. With REGVARBENCH_UPDATE_SCREENSHOT=1 the
screenshot is also copied to docs/report_screenshot.png (the picture the README shows).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from regvarbench.cli import main
from tests.unit.test_report import SECTION_IDS, write_inputs

CHROMIUM = os.environ.get("REGVARBENCH_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WINDOW = "1280,2000"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report_screenshot.png"


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throwaway profile; stdout is the DOM for --dump-dom."""
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180, check=False)


class IdParser(HTMLParser):
    """Element ids and the attributes of <html>."""

    def __init__(self):
        super().__init__()
        self.ids, self.root = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if "id" in a:
            self.ids.append(a["id"])


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (set REGVARBENCH_CHROMIUM)")
    root = tmp_path_factory.mktemp("browser")
    assert main(["evaluate", *write_inputs(root / "in"), "--outdir", str(root / "eval")]) == 0
    assert main(["report", "--evaluation", str(root / "eval"), "--title", "regvarbench report (synthetic data)",
                 "--outdir", str(root / "report")]) == 0
    return root / "report" / "index.html"


def test_dom_after_script_has_every_section(page, tmp_path):
    done = chromium(["--dump-dom", page.as_uri()], tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    parser = IdParser()
    parser.feed(done.stdout)
    for section in SECTION_IDS:
        assert section in parser.ids, section
    # the page's script ran to its end and found every sortable table
    assert int(parser.root.get("data-sortable-tables", "0")) >= 7


def test_screenshot(page, tmp_path):
    png = tmp_path / "report.png"
    done = chromium([f"--screenshot={png}", f"--window-size={WINDOW}", page.as_uri()], tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == tuple(int(v) for v in WINDOW.split(","))
    assert len(data) > 20_000  # a blank page compresses to a few kB
    if os.environ.get("REGVARBENCH_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(png, DOCS_SCREENSHOT)
