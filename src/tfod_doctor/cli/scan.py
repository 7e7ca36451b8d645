"""``tfod-doctor scan``: read record files, check every record, show the schema present."""

from __future__ import annotations

from pathlib import Path

import click

from tfod_doctor import api
from tfod_doctor.cli.common import (
    baseline_note,
    check_output,
    emit_report,
    engine_options,
    fail_level,
    plan_inputs,
    progress_bar,
    project_options,
    report_options,
    split_selectors,
)
from tfod_doctor.engine import execute
from tfod_doctor.findings import Severity


@click.command(
    epilog="""\b
Examples:
  tfod-doctor scan data/train.tfrecord
  tfod-doctor scan 'data/train-*-of-00010.tfrecord' --format json -o scan.json
  tfod-doctor scan data/ --select R          only the framing rules
  tfod-doctor scan data/train-* --eval data/val.tfrecord --label-map label_map.pbtxt \\
      --num-classes 3
  tfod-doctor scan data/ --ignore images,F002 --max-boxes 300
  tfod-doctor scan data/ --baseline tfod-baseline.json   report only new findings
  tfod-doctor scan big.tfrecord --workers 8  one large file, read by 8 processes
  tfod-doctor scan 'gs://bucket/train-*' --runner beam \\
      --beam-options "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/t"
"""
)
@click.argument("records", nargs=-1, required=True)
@click.option("--eval", "eval_records", multiple=True, metavar="RECORDS",
              help="The eval split (RECORDS are then the train split): finds images shared "
                   "between them and duplicate ids eval would skip. Repeatable.")
@click.option("--label-map", type=click.Path(dir_okay=False, path_type=Path), metavar="PBTXT",
              help="The label_map.pbtxt training uses: class names and ids are checked "
                   "against it (as with label_map_path set in the input reader).")
@click.option("--num-classes", type=click.IntRange(min=1), metavar="N",
              help="The model's num_classes: finds class ids above it.")
@click.option("--max-boxes", type=click.IntRange(min=1), metavar="N",
              help="The input reader's max_number_of_boxes  [default: the OD API's 100]")
@click.option("--deep", is_flag=True, help="Decode every image fully (slower) instead of "
              "reading image headers only (add --near-duplicates for D017).")
@click.option("--near-duplicates", is_flag=True,
              help="Find --eval images that are re-encoded, resized or recompressed copies of "
                   "RECORDS' images (D017; decodes every image small, slower).")
@report_options
@project_options
@engine_options
def scan(
    records: tuple[str, ...], eval_records: tuple[str, ...], label_map: Path | None,
    num_classes: int | None, max_boxes: int | None, deep: bool, near_duplicates: bool,
    fmt: str, output: Path | None,
    fail_on: Severity | None, select: tuple[str, ...], ignore: tuple[str, ...], verbose: bool,
    config_file: Path | None, isolated: bool, baseline: Path | None,
    workers: int | None, runner: str, beam_options: str | None,
) -> int:
    """Read RECORDS (files, directories, globs, gs:// or s3:// URLs) and check every record as
    the OD API reads it: damage located to the byte, features, boxes, labels, images, duplicates;
    with the schema and statistics present."""
    project = api.project_settings(Path.cwd(), config_file, isolated)
    plan, ctx = api.scan_plan_and_context(
        list(records), eval_inputs=list(eval_records), label_map=label_map,
        num_classes=num_classes, max_boxes=max_boxes, deep=deep,
        near_duplicates=near_duplicates,
        select=split_selectors(select), ignore=split_selectors(ignore),
        project=project, baseline=baseline,
    )
    if plan.repeated:
        click.echo(f"note: named more than once, read once: {', '.join(plan.repeated)}",
                   err=True)
    inputs = plan_inputs(plan, ctx, [*records, *eval_records, label_map])
    check_output(output, inputs)
    with progress_bar(plan.total_bytes, "scanning") as progress:
        report = execute(plan, ctx, progress, workers=workers, runner=runner,
                         beam_options=beam_options)
    written = api.save_baseline(report, ctx, baseline)
    code = emit_report(report, fmt, output, verbose, fail_level(fail_on, project.fail_on),
                       "scan", ctx.rule_filter, inputs)
    baseline_note(report, written, baseline)
    return code


COMMANDS = [scan]
