"""``tfod-doctor scan``: read record files, report damage and the schema actually present."""

from __future__ import annotations

from pathlib import Path

import click

from tfod_doctor import api
from tfod_doctor.cli.common import (
    emit_report,
    engine_options,
    progress_bar,
    report_options,
    split_selectors,
)
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.findings import Severity


@click.command(
    epilog="""\b
Examples:
  tfod-doctor scan data/train.tfrecord
  tfod-doctor scan 'data/train-*-of-00010.tfrecord' --format json -o scan.json
  tfod-doctor scan data/ --select R          only the framing rules
  tfod-doctor scan big.tfrecord --workers 8  one large file, read by 8 processes
  tfod-doctor scan 'gs://bucket/train-*' --runner beam \\
      --beam-options "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/t"
"""
)
@click.argument("records", nargs=-1, required=True)
@click.option("--deep", is_flag=True, help="Decode every image fully (slower) instead of "
              "reading image headers only.")
@report_options
@engine_options
def scan(
    records: tuple[str, ...], deep: bool, fmt: str, output: Path | None, fail_on: Severity,
    select: tuple[str, ...], ignore: tuple[str, ...], verbose: bool, workers: int | None,
    runner: str, beam_options: str | None,
) -> int:
    """Read RECORDS (files, directories, globs, gs:// or s3:// URLs): files, records, damage
    located to the byte, and the schema present (keys, kinds, list lengths)."""
    ctx = api.context(deep=deep, select=split_selectors(select), ignore=split_selectors(ignore))
    plan = scan_plan(list(records))
    with progress_bar(plan.total_bytes, "scanning") as progress:
        report = execute(plan, ctx, progress, workers=workers, runner=runner,
                         beam_options=beam_options)
    return emit_report(report, fmt, output, verbose, fail_on, "scan")


COMMANDS = [scan]
