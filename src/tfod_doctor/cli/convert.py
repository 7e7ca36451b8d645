"""``tfod-doctor convert FORMAT SRC --out DIR`` and ``tfod-doctor export coco RECORDS --out DIR``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tfod_doctor import api
from tfod_doctor.cli.common import FolderPath, cap_workers, progress_bar, use_color
from tfod_doctor.converters import ConversionResult, ExportResult, Problem
from tfod_doctor.errors import UserError
from tfod_doctor.records.inputs import read_input_text

#: Problems listed in the terminal unless --verbose (all of them are in the manifest).
_FIRST_PROBLEMS = 20

CONVERT_EPILOG = """\b
Examples:
  tfod-doctor convert coco annotations/instances_train.json --out records/ --eval-ratio 0.1
  tfod-doctor convert coco train.json --eval val.json --images images/ --out records/
  tfod-doctor convert voc Annotations/ --images JPEGImages/ --out records/ --num-shards 4
  tfod-doctor convert yolo dataset/data.yaml --out records/
  tfod-doctor convert csv images/train_labels.csv --eval images/test_labels.csv --out records/

\b
Writes NAME-00000-of-0000N.tfrecord shards (train/eval, or --name), label_map.pbtxt,
input_reader.config (the reader blocks for pipeline.config) and conversion.json (categories,
counts, every skipped annotation and what was lost).

\b
Bad annotations (box outside the image, unknown category, missing or unreadable image...) are
listed and skipped, and the rest is converted. Exit codes: 0 everything converted, 1 something
was skipped (or --strict stopped at the first problem, writing nothing), 2 unusable input or a
lossy conversion without --allow-lossy.

\b
EXIF: TensorFlow ignores the EXIF orientation, annotation tools apply it. --exif auto (default)
takes the frame whose size the annotations declare, else the rotated one, and bakes the rotation
into the pixels when the boxes belong to it; apply always does, ignore never does.
"""


def _classes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        try:
            text = read_input_text(path, encoding="utf-8-sig")
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    return [name.strip() for name in value.split(",") if name.strip()]


def convert_options(func: Callable) -> Callable:
    """The options every ``convert`` format takes."""
    decorators = [
        click.option("--out", required=True, type=FolderPath(),
                     help="The folder to write records, label map and manifest to."),
        click.option("--images", type=click.Path(file_okay=False, path_type=Path),
                     help="The folder image file names are relative to (default: guessed from "
                          "the layout, next to the annotations)."),
        click.option("--eval", "eval_source", type=click.Path(path_type=Path),
                     help="A second annotation source in the same format for the eval split."),
        click.option("--eval-ratio", type=float,
                     help="Hold out this fraction of the images as the eval split (0-1)."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the split and of the record order."),
        click.option("--no-shuffle", is_flag=True,
                     help="Write records in the order of the annotations (default: a seeded "
                          "shuffle, since the OD API's shuffle buffer is finite)."),
        click.option("--name", default="train", show_default=True,
                     help="Shard name when the data is not split (eval, val, test make an "
                          "eval reader)."),
        click.option("--num-shards", type=click.IntRange(min=1),
                     help="Write each split into this many shards (round-robin)."),
        click.option("--shard-size", metavar="SIZE",
                     help="Fill shards up to SIZE (100MB, 64MiB...). Default: 100MB."),
        click.option("--exif", type=click.Choice(["auto", "apply", "ignore"]), default="auto",
                     show_default=True, help="Which frame boxes of EXIF-rotated images are in."),
        click.option("--reencode", type=click.Choice(["keep", "jpeg", "png"]), default="keep",
                     show_default=True,
                     help="Keep the original image bytes, or store every image as JPEG/PNG "
                          "(images TensorFlow cannot decode are stored as PNG either way)."),
        click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
                     help="JPEG quality when re-encoding."),
        click.option("--verify-images", is_flag=True,
                     help="Decode every image fully (slower) instead of checking headers and "
                          "file ends."),
        click.option("--clip-boxes", is_flag=True,
                     help="Clip boxes that stick out of the image to its edges instead of "
                          "skipping them."),
        click.option("--allow-lossy", is_flag=True,
                     help="Convert even when something cannot be kept (segmentation, "
                          "keypoints...); the manifest lists it."),
        click.option("--strict", is_flag=True,
                     help="Stop at the first bad annotation (exit 1) and write nothing."),
        click.option("--workers", type=click.IntRange(min=1), callback=cap_workers(per_cpu=4),
                     help="Threads reading images (default: two per core, at most 8; "
                          "at most four per core)."),
        click.option("--overwrite", is_flag=True,
                     help="Replace the outputs of an earlier conversion in --out."),
        click.option("--verbose", "-v", is_flag=True, help="List every problem."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _console() -> Console:
    return Console(force_terminal=use_color(), no_color=not use_color(), width=120,
                   highlight=False)


def problem_line(problem: Problem) -> str:
    """One problem on one line: where, image, kind, what, and what was left out."""
    where = str(problem.where)
    image = f" {problem.image}" if problem.image else ""
    left_out = "note" if problem.is_note else f"{problem.skipped.value} skipped"
    style = "dim" if problem.is_note else "magenta"
    return (f"  {where}{image}: [{style}]{problem.kind.value}[/] ({left_out}): "
            f"{escape(problem.message)}")


def show_problems(console: Console, problems: Sequence[Problem], verbose: bool,
                  where_all: str) -> None:
    """The problems, one a line: the first few unless ``verbose``."""
    shown = problems if verbose else problems[:_FIRST_PROBLEMS]
    for problem in shown:
        console.print(problem_line(problem), soft_wrap=True)
    if len(shown) < len(problems):
        console.print(f"  ... and {len(problems) - len(shown)} more (-v lists them; all are in "
                      f"{where_all})", style="dim")


def _split_table(result: ConversionResult) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("split", "images", "boxes", "negatives", "max boxes/image", "files"):
        table.add_column(column, justify="left" if column in ("split", "files") else "right")
    for name, split in result.splits.items():
        files = split.files[0].name if len(split.files) == 1 else (
            f"{len(split.files)} shards" if split.files else "none")
        table.add_row(name, f"{split.images:,}", f"{split.boxes:,}", f"{split.negatives:,}",
                      str(split.max_boxes), files)
    return table


def _class_table(result: ConversionResult) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("id", justify="right")
    table.add_column("class")
    for name in result.splits:
        table.add_column(name, justify="right")
    for category in result.categories:
        counts = [f"{s.per_class.get(category.name, 0):,}" for s in result.splits.values()]
        table.add_row(str(category.id), category.name, *counts)
    return table


def show_conversion(result: ConversionResult, verbose: bool) -> None:
    """The end-of-run summary of a conversion."""
    console = _console()
    skipped = [p for p in result.problems if not p.is_note]
    notes = [p for p in result.problems if p.is_note]
    console.print(f"[bold]Converted {result.format.upper()}[/] {', '.join(result.sources)} → "
                  f"{result.out}")
    console.print(_split_table(result))
    console.print(_class_table(result))
    if result.images_rotated or result.images_reencoded:
        console.print(f"images: {result.images_rotated:,} EXIF rotation(s) baked into the "
                      f"pixels, {result.images_reencoded:,} re-encoded", style="dim")
    show_problems(console, [*skipped, *notes], verbose, str(result.manifest))
    if skipped:
        console.print(f"[bold magenta]Skipped {result.skipped_annotations:,} box(es)[/] "
                      f"({result.skipped_images:,} whole image(s)) — listed above")
    if result.losses:
        console.print("[yellow]Lost (--allow-lossy):[/] " + "; ".join(result.losses.describe()))
    for note in result.notes:
        console.print(f"note: {note}", style="dim")
    console.print(f"Wrote {result.label_map.name}, {result.input_reader.name} (reader blocks for "
                  f"pipeline.config; num_classes: {len(result.categories)}) and "
                  f"{result.manifest.name}.")
    console.print(f"Next: tfod-doctor scan {result.out}", style="dim")


def _convert(fmt: str, source: Path, out: Path, verbose: bool, shard_size: str | None,
             classes: str | None = None, no_shuffle: bool = False, **options: Any) -> int:
    with progress_bar(None, "reading images", unit="images") as progress:
        result = api.convert(
            fmt, source, out, shard_size=shard_size, classes=_classes(classes),
            shuffle=not no_shuffle, progress=progress,
            on_total=progress.set_total if progress else None, **options)
    show_conversion(result, verbose)
    return result.exit_code


@click.group(epilog=CONVERT_EPILOG)
def convert() -> None:
    """Convert COCO, Pascal VOC, YOLO or CSV annotations into OD API TFRecords."""


@convert.command("coco", epilog=CONVERT_EPILOG)
@click.argument("source", type=click.Path(path_type=Path))
@convert_options
@click.option("--keep-category-ids", is_flag=True,
              help="Use COCO's category ids in the label map instead of 1..N (gaps stay gaps).")
def convert_coco(source: Path, **options: Any) -> int:
    """Convert a COCO instances JSON file (as pycocotools reads it)."""
    return _convert("coco", source, **options)


_CLASSES_HELP = ("The classes in label-map order: comma-separated names, or a file with one "
                 "name a line. Other names are unknown categories (default: every name used, "
                 "sorted).")


_LABEL_MAP_HELP = ("Keep the ids of this existing label_map.pbtxt; names it lacks are unknown "
                   "categories.")


@convert.command("voc", epilog=CONVERT_EPILOG)
@click.argument("source", type=click.Path(path_type=Path))
@convert_options
@click.option("--classes", metavar="NAMES|FILE", help=_CLASSES_HELP)
@click.option("--label-map", type=click.Path(dir_okay=False, path_type=Path),
              help=_LABEL_MAP_HELP)
def convert_voc(source: Path, **options: Any) -> int:
    """Convert Pascal VOC XML files (a folder as LabelImg writes it, or a VOC devkit)."""
    return _convert("voc", source, **options)


@convert.command("yolo", epilog=CONVERT_EPILOG)
@click.argument("source", type=click.Path(path_type=Path))
@convert_options
def convert_yolo(source: Path, **options: Any) -> int:
    """Convert YOLO txt labels (a data.yaml, or a folder with data.yaml or classes.txt)."""
    return _convert("yolo", source, **options)


@convert.command("csv", epilog=CONVERT_EPILOG)
@click.argument("source", type=click.Path(path_type=Path))
@convert_options
@click.option("--classes", metavar="NAMES|FILE", help=_CLASSES_HELP)
@click.option("--label-map", type=click.Path(dir_okay=False, path_type=Path),
              help=_LABEL_MAP_HELP)
def convert_csv(source: Path, **options: Any) -> int:
    """Convert a CSV with filename,width,height,class,xmin,ymin,xmax,ymax (the tutorials')."""
    return _convert("csv", source, **options)


def show_export(result: ExportResult, verbose: bool) -> None:
    """The end-of-run summary of an export."""
    console = _console()
    console.print(f"[bold]Exported[/] {len(result.records)} record file(s) → "
                  f"{result.annotations_file} and {result.images_dir}/: "
                  f"{result.images:,} images, {result.annotations:,} annotations, "
                  f"{len(result.categories)} categories")
    show_problems(console, result.problems, verbose, "the list above (-v)")
    if result.losses:
        console.print("[yellow]Lost (--allow-lossy):[/] " + "; ".join(result.losses.describe()))
    for note in result.notes:
        console.print(f"note: {note}", style="dim")


@click.group(epilog="""\b
Examples:
  tfod-doctor export coco 'records/eval-*.tfrecord' --out coco_eval/
  tfod-doctor export coco records/ --out coco/ --manifest records/conversion.json
""")
def export() -> None:
    """Export OD API TFRecords to another annotation format."""


@export.command("coco", epilog="""\b
Writes annotations.json (COCO instances, as pycocotools reads it) and images/. Category ids and
names come from the conversion.json beside the records (or --manifest), else from the records'
class/label and class/text. Damaged records are listed and skipped. Exit codes: 0 all exported,
1 records skipped (or --strict stopped, writing nothing), 2 unusable input or a lossy export
without --allow-lossy.
""")
@click.argument("records", nargs=-1, required=True)
@click.option("--out", required=True, type=FolderPath(),
              help="The folder to write annotations.json and images/ to.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="The conversion.json to restore category ids from.")
@click.option("--label-map", type=click.Path(dir_okay=False, path_type=Path),
              help="Take category ids and names from this label map (instead of a manifest).")
@click.option("--allow-lossy", is_flag=True,
              help="Export even when records hold what COCO cannot (masks, keypoints...).")
@click.option("--strict", is_flag=True, help="Stop at the first bad record (exit 1).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in --out.")
@click.option("--verbose", "-v", is_flag=True, help="List every problem.")
def export_coco(records: tuple[str, ...], out: Path, manifest: Path | None,
                label_map: Path | None, allow_lossy: bool, strict: bool, overwrite: bool,
                verbose: bool) -> int:
    """Export RECORDS (files, folders, globs) to COCO JSON and image files."""
    from tfod_doctor.records import discover

    total = discover(list(records)).total_bytes
    with progress_bar(total, "exporting") as progress:
        result = api.export("coco", list(records), out, manifest=manifest, label_map=label_map,
                            allow_lossy=allow_lossy, strict=strict, overwrite=overwrite,
                            progress=progress)
    show_export(result, verbose)
    return result.exit_code


COMMANDS = [convert, export]
