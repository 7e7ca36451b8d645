"""``tfod-doctor scan``: read record files, report damage and the schema actually present."""

from __future__ import annotations

from pathlib import Path

import click

from tfod_doctor import api
from tfod_doctor.cli.common import emit_report, progress_bar, report_options, split_selectors
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.findings import Severity


@click.command(
    epilog="""\b
Examples:
  tfod-doctor scan data/train.tfrecord
  tfod-doctor scan 'data/train-*-of-00010.tfrecord' --format json -o scan.json
  tfod-doctor scan data/ --select R          only the framing rules
  tfod-doctor scan data/train-* --eval data/val.tfrecord --num-classes 3
  tfod-doctor scan data/ --ignore images,F002 --max-boxes 300
"""
)
@click.argument("records", nargs=-1, required=True)
@click.option("--eval", "eval_records", multiple=True, metavar="RECORDS",
              help="The eval split (RECORDS are then the train split): finds images shared "
                   "between them and duplicate ids eval would skip. Repeatable.")
@click.option("--num-classes", type=click.IntRange(min=1), metavar="N",
              help="The model's num_classes: finds class ids above it.")
@click.option("--max-boxes", type=click.IntRange(min=1), metavar="N",
              help="The input reader's max_number_of_boxes  [default: the OD API's 100]")
@click.option("--deep", is_flag=True, help="Decode every image fully (slower) instead of "
              "reading image headers only.")
@report_options
def scan(
    records: tuple[str, ...], eval_records: tuple[str, ...], num_classes: int | None,
    max_boxes: int | None, deep: bool, fmt: str, output: Path | None, fail_on: Severity,
    select: tuple[str, ...], ignore: tuple[str, ...], verbose: bool,
) -> int:
    """Read RECORDS (files, directories, globs, gs:// or s3:// URLs) and check every record as
    the OD API reads it: damage located to the byte, features, boxes, labels, images, duplicates;
    with the schema and statistics present."""
    ctx = api.context(num_classes=num_classes, max_boxes=max_boxes, deep=deep,
                      select=split_selectors(select), ignore=split_selectors(ignore))
    plan = scan_plan(list(records), list(eval_records))
    with progress_bar(plan.total_bytes, "scanning") as progress:
        report = execute(plan, ctx, progress)
    return emit_report(report, fmt, output, verbose, fail_on, "scan")


COMMANDS = [scan]
