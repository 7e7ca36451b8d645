"""``tfod-doctor demo``: make a clean and a broken dataset, and check both."""

from __future__ import annotations

from pathlib import Path

import click

from tfod_doctor import api
from tfod_doctor import report as reports
from tfod_doctor.cli.common import use_color
from tfod_doctor.errors import UserError
from tfod_doctor.guard import OutputFolder

#: The problems planted in the broken dataset: one of each kind people hit most.
DEMO_DEFECTS = ["bad_payload_crc", "cut_in_header", "pixel_boxes", "text_not_in_label_map",
                "label_above_num_classes", "truncated_jpeg", "duplicate_source_id",
                "checkpoint_version_missing", "input_path_matches_nothing"]


def _cannot_write(folder: Path, exc: OSError) -> UserError:
    """The error of a demo folder that cannot be written."""
    where = f" ({exc.filename})" if exc.filename else ""
    return UserError(f"cannot write the demo datasets into {folder}: "
                     f"{exc.strerror or exc}{where}; name a folder that can be created")


@click.command(
    epilog="""\b
Examples:
  tfod-doctor demo                     writes ./tfod-doctor-demo/{clean,broken}
  tfod-doctor demo demo-data --format json
"""
)
@click.argument("folder", required=False, default="tfod-doctor-demo",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(reports.formats()), help="How to write the broken report.")
def demo(folder: Path, fmt: str) -> int:
    """Write a small clean dataset and a broken copy with planted problems (in the records, the
    pipeline.config and the label map) into FOLDER, then check both pipeline.configs, so you see
    what tfod-doctor finds in a few seconds."""
    from tfod_doctor.testing import make_dataset

    clean_dir, broken_dir = folder / "clean", folder / "broken"
    # An earlier demo's folders are replaced; anything else in the way is refused.
    try:
        with OutputFolder(folder, ["clean", "broken"], overwrite=True):
            clean = make_dataset(clean_dir, varied=True, n_train=24, n_eval=8)
            broken = make_dataset(broken_dir, DEMO_DEFECTS, varied=True, n_train=24, n_eval=8)
    except OSError as exc:
        raise _cannot_write(folder, exc) from exc
    options = reports.RenderOptions(color=use_color() and fmt == "text", command="check")

    clean_report = api.check(clean.config_path)
    broken_report = api.check(broken.config_path)
    if fmt != "text":
        click.echo(reports.render(broken_report, fmt, options), nl=False)
        return 0
    click.secho(f"1. A clean dataset: {clean_dir}", bold=True)
    click.echo(reports.render(clean_report, "text", options))
    click.secho(f"2. The same kind of dataset with planted problems: {broken_dir}", bold=True)
    click.echo(reports.render(broken_report, "text", options))
    click.echo(f"Planted: {', '.join(DEMO_DEFECTS)}.\nNext: tfod-doctor check "
               f"{broken.config_path} --format html -o report.html\n"
               f"      tfod-doctor fix {broken.config_path} --out {folder / 'fixed'}   "
               "(the repair plan; --apply writes it)")
    return 0


COMMANDS = [demo]
