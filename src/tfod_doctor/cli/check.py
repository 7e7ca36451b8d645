"""``tfod-doctor check``: pipeline.config, its label map and every record file it names."""

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
  tfod-doctor check models/my_ssd/pipeline.config
  tfod-doctor check pipeline.config --split eval        only the eval records
  tfod-doctor check pipeline.config --select C,M        config and label map rules only
  tfod-doctor check pipeline.config --format json -o report.json
  tfod-doctor check pipeline.config --workers 8         8 processes
  tfod-doctor check pipeline.config --baseline tfod-baseline.json
                                        accept today's findings; report only new ones
  tfod-doctor check pipeline.config --runner beam --beam-options \\
      "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp"

Relative paths in the config are taken from the current folder, as training
does: run it from the folder you start training in.

Settings a team shares (select, ignore, fail-on, severity overrides,
per-file-ignores) go into [tool.tfod-doctor] of a pyproject.toml or into a
tfod-doctor.toml, found by walking up from the config's folder; options on
the command line win (--ignore adds to the file's ignores).
"""
)
@click.argument("pipeline_config", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(api.SPLITS),
              help="Read only the records of this split (the config is always checked).")
@click.option("--deep", is_flag=True, help="Decode every image fully (slower) instead of "
              "reading image headers only (add --near-duplicates for D017).")
@click.option("--near-duplicates", is_flag=True,
              help="Find eval images that are re-encoded, resized or recompressed copies of "
                   "train images (D017; decodes every image small, slower).")
@report_options
@project_options
@engine_options
def check(
    pipeline_config: Path, split: str | None, deep: bool, near_duplicates: bool, fmt: str,
    output: Path | None,
    fail_on: Severity | None, select: tuple[str, ...], ignore: tuple[str, ...], verbose: bool,
    config_file: Path | None, isolated: bool, baseline: Path | None,
    workers: int | None, runner: str, beam_options: str | None,
) -> int:
    """Check PIPELINE_CONFIG before training: the config itself (line:column), its label map,
    the fine-tune checkpoint, and every train and eval record file it names, together."""
    start = pipeline_config if pipeline_config.is_dir() else pipeline_config.parent
    project = api.project_settings(start, config_file, isolated)
    plan, ctx = api.check_plan(pipeline_config, split=split, deep=deep,
                               near_duplicates=near_duplicates,
                               select=split_selectors(select), ignore=split_selectors(ignore),
                               project=project, baseline=baseline)
    inputs = plan_inputs(plan, ctx, [pipeline_config])
    check_output(output, inputs)
    with progress_bar(plan.total_bytes, "checking") as progress:
        report = execute(plan, ctx, progress, workers=workers, runner=runner,
                         beam_options=beam_options)
    written = api.save_baseline(report, ctx, baseline)
    code = emit_report(report, fmt, output, verbose, fail_level(fail_on, project.fail_on),
                       "check", ctx.rule_filter, inputs)
    baseline_note(report, written, baseline)
    return code


COMMANDS = [check]
