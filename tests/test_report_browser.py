"""The HTML report opened in a real headless Chromium: no console errors, no request leaves the
page, every image loads, and a screenshot is taken.

Skipped only where no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
Set ``TFOD_DOCTOR_SCREENSHOTS=DIR`` to keep the screenshot for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from chromium import find_chromium, visit
from click.testing import CliRunner
from PIL import Image
from report_helpers import demo_report

from tfod_doctor import report as reports
from tfod_doctor.cli import app
from tfod_doctor.cli.demo import DEMO_DEFECTS
from tfod_doctor.report import RenderOptions
from tfod_doctor.testing import make_dataset

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: `apt-get install chromium` (.ci/run installs it), or set "
           "CHROMIUM=/path/to/chrome",
)


def _keep(screenshot: Path) -> None:
    folder = os.environ.get("TFOD_DOCTOR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(folder) / screenshot.name)


def _check_page(page: Path, tmp_path: Path, expected_images: int) -> Image.Image:
    seen = visit(CHROMIUM, page, tmp_path / "profile")
    assert seen.console_errors == []
    assert seen.failed_requests == []
    assert seen.outside_requests == []
    broken = [i for i in seen.images if not i["complete"] or i["width"] == 0]
    assert broken == []
    assert len(seen.images) >= expected_images
    shot = tmp_path / f"{page.stem}.png"
    shot.write_bytes(seen.screenshot)
    _keep(shot)
    image = Image.open(shot)
    assert image.width == 1280 and image.height > 1500
    small = np.asarray(image.convert("RGB").resize((64, 256))).reshape(-1, 3)
    assert len(np.unique(small, axis=0)) > 50  # not a blank page
    return image


@needs_chromium
def test_html_report_loads_in_chromium(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report, _ = demo_report(Path("demo"), monkeypatch)
    page = tmp_path / "report.html"
    page.write_text(reports.render(report, "html", RenderOptions(command="scan")))
    plots, thumbnails, samples = 6, 1, 12
    _check_page(page, tmp_path, plots + thumbnails + samples)


@needs_chromium
def test_scan_html_from_the_command_line_loads_in_chromium(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_dataset("ds", ["bad_payload_crc", "not_tfrecord_file"], varied=True, n_train=16,
                 n_eval=4)
    page = tmp_path / "scan.html"
    result = CliRunner().invoke(app, ["scan", "ds/data", "--format", "html", "-o", str(page)],
                                standalone_mode=False)
    assert result.exception is None, result.output
    _check_page(page, tmp_path, expected_images=12)


@needs_chromium
def test_check_html_of_the_demo_dataset_loads_in_chromium(tmp_path, monkeypatch):
    """What the issue asks for: `check pipeline.config --format html` on the demo dataset."""
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("demo", DEMO_DEFECTS, varied=True, n_train=24, n_eval=8)
    page = tmp_path / "check.html"
    result = CliRunner().invoke(app, ["check", str(dataset.config_path), "--format", "html",
                                      "--output", str(page)], standalone_mode=False)
    assert result.exception is None, result.output
    assert result.return_value == 1
    text = page.read_text()
    assert "<pre class=src>" in text  # config findings quote their line
    _check_page(page, tmp_path, expected_images=12)
