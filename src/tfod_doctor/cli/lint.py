"""``tfod-doctor lint``: pipeline.config and label map files alone, fast (no record is read)."""

from __future__ import annotations

from pathlib import Path

import click

from tfod_doctor import api
from tfod_doctor.cli.common import (
    check_output,
    emit_report,
    fail_level,
    report_options,
    split_selectors,
)
from tfod_doctor.findings import Severity


@click.command(
    epilog="""\b
Examples:
  tfod-doctor lint models/my_ssd/pipeline.config
  tfod-doctor lint pipeline.config label_map.pbtxt --paths
  tfod-doctor lint configs/*.config --fail-on warning

For pre-commit, in .pre-commit-config.yaml:
  - repo: https://github.com/tfod-doctor/tfod-doctor
    rev: v0.1.0
    hooks:
      - id: tfod-doctor-lint

The config, label map and model rules (C, M, A) run by default, without
the ones about files the config names (records, checkpoint): add --paths to
check those too. A project file (tfod-doctor.toml or [tool.tfod-doctor])
found from the current folder applies, as for check.
"""
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--paths", "check_paths", is_flag=True,
              help="Also report paths in the configs that point at nothing (input_path, "
                   "label_map_path, fine_tune_checkpoint).")
@click.option("--config-file", type=click.Path(dir_okay=False, path_type=Path), metavar="TOML",
              help="The project file to use instead of the one found from this folder.")
@click.option("--isolated", is_flag=True, help="Ignore every project file.")
@report_options
def lint(
    files: tuple[Path, ...], check_paths: bool, config_file: Path | None, isolated: bool,
    fmt: str, output: Path | None, fail_on: Severity | None, select: tuple[str, ...],
    ignore: tuple[str, ...], verbose: bool,
) -> int:
    """Check pipeline.config and label map FILES on their own, without reading a record: the
    fast check for a pre-commit hook or an editor (.pbtxt files are read as label maps)."""
    from tfod_doctor.guard import Protected

    inputs = Protected.of([str(path) for path in files])
    check_output(output, inputs)
    project = api.project_settings(Path.cwd(), config_file, isolated)
    report = api.lint(list(files), select=split_selectors(select),
                      ignore=split_selectors(ignore), check_paths=check_paths, project=project)
    return emit_report(report, fmt, output, verbose, fail_level(fail_on, project.fail_on),
                       "lint", inputs=inputs)


COMMANDS = [lint]
