"""``tfod-doctor fix PIPELINE_CONFIG|RECORDS… --out DIR [--apply]``: the plan, or the repair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tfod_doctor import api
from tfod_doctor.cli.common import FolderPath, progress_bar, use_color
from tfod_doctor.errors import UserError
from tfod_doctor.fixing import FixResult
from tfod_doctor.odapi.layout import LAYOUTS, UNITS
from tfod_doctor.repair import EXIF_CHOICES

FIX_EPILOG = """\b
Examples:
  tfod-doctor fix pipeline.config --out fixed/              the plan: what would change
  tfod-doctor fix pipeline.config --out fixed/ --apply      write records, config, label map
  tfod-doctor fix data/train.tfrecord --out fixed/ --apply --label-map label_map.pbtxt
  tfod-doctor fix 'data/*.tfrecord' --out fixed/ --rename bbox_xmin=image/object/bbox/xmin
  tfod-doctor fix damaged.tfrecord.gz --out fixed/ --apply  salvage and decompress
  tfod-doctor fix pipeline.config --out fixed/ --apply --box-layout xyxy --box-units pixels

\b
Writes NAME-00000-of-0000N.tfrecord shards (train/eval for a config, else the input's own
name), manifest.jsonl (a line for every input record: where it went and what changed, or why
it was dropped; a line for every damaged byte range), and for a config a corrected
pipeline.config and, when classes were added, label_map.pbtxt. Inputs are never modified.

\b
Repairs: key renames (--rename, and did-you-mean), kinds (int64 boxes, float labels), single
values, pixel boxes normalised, inverted boxes swapped, boxes clipped to [0, 1], NaN/infinite/
empty boxes dropped, class ids from names through the label map (names it lacks are added),
image/height, width and format from the image, GIF/WebP/TIFF re-encoded, EXIF orientation,
unique source ids, damaged files salvaged, GZIP/ZLIB decompressed; flat box lists (boxes,
bbox...) split into the four coordinate lists in the layout that fits (yxyx, xyxy, xywh,
cxcywh; normalised or pixels), class keys (classes, labels...) renamed, and a config's
invented input_features/feature_map block used as the rename plan and removed.

\b
Exit codes: 0 everything due was repaired (or the plan says it would be), 1 something could
not be repaired (listed; --drop-unfixable drops it instead), 2 unusable input.
"""


def _renames(values: tuple[str, ...]) -> dict[str, str]:
    renames = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UserError(f"--rename takes OLD=NEW, not {value!r}")
        renames[old.strip()] = new.strip()
    return renames


def _console() -> Console:
    return Console(force_terminal=use_color(), no_color=not use_color(), width=120,
                   highlight=False)


def _changes_table(result: FixResult) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("rule", "repair", "records", "boxes"):
        table.add_column(column, justify="right" if column in ("records", "boxes") else "left")
    plan = result.records
    for (repair, rule), count in sorted(plan.records_by_change.items(), key=lambda kv: kv[0][1]):
        boxes = plan.boxes_by_change[(repair, rule)]
        table.add_row(rule, repair, f"{count:,}", f"{boxes:,}" if boxes else "")
    return table


def show_fix(result: FixResult, verbose: bool) -> None:
    """The plan (or what was done), in the terminal."""
    console = _console()
    plan = result.records
    if result.repeated:
        repeated = escape(", ".join(result.repeated))
        console.print(f"note: named more than once, read once: {repeated}", style="dim",
                      soft_wrap=True)
    verb = "Repaired" if result.applied else "Plan:"
    sets = ", ".join(f"{s.name} {s.records_in:,} → {s.records_out:,}" for s in plan.sets)
    changed = sum(s.records_changed for s in plan.sets)
    console.print(f"[bold]{verb}[/] {plan.records_in:,} readable record(s) ({sets}); "
                  f"{changed:,} changed, {sum(s.dropped for s in plan.sets):,} dropped")
    if plan.records_by_change:
        console.print(_changes_table(result))
    if plan.layout:
        console.print(f"flat box lists read as [bold]{plan.layout}[/]")
    for entry in plan.salvaged:
        _show_salvage(console, entry)
    for detail, count in sorted(plan.renamed_on_evidence.items()):
        console.print(f"[green]renamed[/] {escape(detail)} ({count:,} record(s))",
                      soft_wrap=True)
    for (repair, rule, detail), count in sorted(plan.not_done.items()):
        console.print(f"[magenta]not repaired[/] {rule} {repair}: {escape(detail)} "
                      f"({count:,} record(s))", soft_wrap=True)
    for label, rewrite in (("pipeline.config", result.config), ("label map", result.label_map)):
        if rewrite is not None and rewrite.diff:
            console.print(f"[bold]{label}[/] ({len(rewrite.changes)} change(s)):")
            console.print(escape(rewrite.diff.rstrip()), soft_wrap=True)
    if result.applied:
        shown = result.written if verbose else result.written[-3:]
        console.print("Wrote " + ", ".join(shown) +
                      ("" if verbose or len(result.written) <= 3 else
                       f" and {len(result.written) - 3} shard(s)"), soft_wrap=True)
        console.print(f"Next: tfod-doctor check {result.out / 'pipeline.config'}"
                      if result.config is not None else f"Next: tfod-doctor scan {result.out}",
                      style="dim")
    else:
        console.print("Nothing written: run again with --apply to write these files.",
                      style="dim")


def _show_salvage(console: Console, entry: dict[str, Any]) -> None:
    name = escape(str(entry.get("file")))
    if "error" in entry:
        console.print(f"[magenta]{escape(entry['error'])}[/]", soft_wrap=True)
        return
    what = f"{entry['records']:,} intact record(s) recovered"
    if entry.get("lost_bytes"):
        what += f", {entry['lost_bytes']:,} damaged byte(s) in {len(entry['damages'])} range(s)"
    if entry.get("kind", "").endswith("compressed TFRecord"):
        what += f" ({entry['kind']}: written uncompressed)"
    console.print(f"[yellow]salvaged[/] {name}: {what}", soft_wrap=True)


def exit_code(result: FixResult) -> int:
    """0 when everything due was repaired, 1 when something could not be."""
    unreadable = any("error" in entry for entry in result.records.salvaged)
    return 1 if result.records.not_done or unreadable else 0


@click.command(epilog=FIX_EPILOG)
@click.argument("inputs", nargs=-1, required=True, metavar="PIPELINE_CONFIG|RECORDS...")
@click.option("--out", required=True, type=FolderPath(),
              help="The folder to write the fixed files to (never one that holds an input).")
@click.option("--apply", is_flag=True, help="Write the files (without it: show the plan only).")
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="Rename a record key (repeat for several).")
@click.option("--label-map", type=click.Path(dir_okay=False, path_type=Path),
              help="The label map to read class names through (default: the config's).")
@click.option("--exif", type=click.Choice(EXIF_CHOICES), default="apply", show_default=True,
              help="EXIF-rotated images: turn the pixels upright and keep the boxes (apply), "
                   "turn the boxes into the stored pixels (reverse), or leave both (keep).")
@click.option("--image-format", type=click.Choice(["png", "jpeg"]), default="png",
              show_default=True, help="What GIF/WebP/TIFF images are re-encoded as.")
@click.option("--box-layout", type=click.Choice(LAYOUTS),
              help="How flat box lists (boxes, bbox...) hold 4 values per box, when the data "
                   "fits several layouts (fix stops and asks).")
@click.option("--box-units", type=click.Choice(UNITS),
              help="Whether flat box lists are normalised or in pixels, when the data fits both.")
@click.option("--fill-text", is_flag=True,
              help="Write image/object/class/text from the ids through the label map where a "
                   "record has ids only.")
@click.option("--drop-unfixable", is_flag=True,
              help="Drop boxes and records that cannot be repaired (listed in the manifest).")
@click.option("--num-shards", type=click.IntRange(min=1),
              help="Write each record set into this many shards (round-robin).")
@click.option("--shard-size", metavar="SIZE",
              help="Fill shards up to SIZE (100MB, 64MiB...). Default: 100MB.")
@click.option("--name", help="Shard name for record inputs (default: the input's own name).")
@click.option("--overwrite", is_flag=True,
              help="Replace the outputs of an earlier run in --out (only files it wrote).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print the plan.")
@click.option("--verbose", "-v", is_flag=True, help="List every file written.")
def fix(inputs: tuple[str, ...], fmt: str, verbose: bool, renames: tuple[str, ...],
        **options: Any) -> int:
    """Repair records (and the config and label map around them) into new files."""
    with progress_bar(None, "repairing") as progress:
        result = api.fix(list(inputs), renames=_renames(renames), progress=progress,
                         on_total=progress.set_total if progress else None, **options)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        show_fix(result, verbose)
    return exit_code(result)


COMMANDS = [fix]
