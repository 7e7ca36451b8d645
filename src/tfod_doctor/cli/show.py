"""``tfod-doctor show``: draw records (their image, boxes and labels) into a PNG."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tfod_doctor.config import read_label_map
from tfod_doctor.errors import UserError
from tfod_doctor.guard import SIGNATURE, Protected, check_file, write_file
from tfod_doctor.records import (
    Damage,
    ExampleDecodeError,
    FeatureView,
    NoRecordHere,
    Source,
    discover,
    open_records,
    read_record_at,
)
from tfod_doctor.report.pictures import draw_record, grid

DEFAULT_COUNT = 16


def _sources(records: tuple[str, ...]) -> list[Source]:
    found = discover(list(records))
    if not found.sources:
        reasons = "; ".join(p.message for p in found.problems) or "no record files found"
        raise UserError(f"nothing to show: {reasons}")
    return found.sources


def _numbered(sources: list[Source]) -> Iterator[tuple[int, Source, int, bytes]]:
    """Every intact record of the files in order: (running number, file, index, payload)."""
    number = 0
    for source in sources:
        try:
            with open_records(source) as opened:
                for entry in opened.records():
                    if isinstance(entry, Damage):
                        continue
                    yield number, source, entry.index, entry.payload
                    number += 1
        except OSError as exc:
            raise UserError(f"cannot read {source.name}: {exc.strerror or exc}") from exc


def _by_number(sources: list[Source], wanted: set[int]) -> list[tuple[str, int, bytes]]:
    found: dict[int, tuple[str, int, bytes]] = {}
    for number, source, index, payload in _numbered(sources):
        if number in wanted:
            found[number] = (source.name, index, payload)
            if len(found) == len(wanted):
                break
    missing = sorted(wanted - set(found))
    if missing:
        raise UserError(f"no record {', '.join(map(str, missing))}: the files hold fewer "
                        "intact records")
    return [found[n] for n in sorted(wanted)]


def _at_offsets(sources: list[Source], offsets: list[int]) -> list[tuple[str, int, bytes]]:
    if len(sources) != 1:
        raise UserError("--offset needs exactly one record file")
    source = sources[0]
    picked = []
    with open_records(source) as opened:
        for offset in offsets:
            try:
                record = read_record_at(opened.file, source.name, offset)
            except NoRecordHere as exc:
                raise UserError(str(exc)) from exc
            picked.append((source.name, -1, record.payload))
    return picked


def _first(sources: list[Source], start: int, count: int) -> list[tuple[str, int, bytes]]:
    picked = []
    for number, source, index, payload in _numbered(sources):
        if number >= start + count:
            break
        if number >= start:
            picked.append((source.name, index, payload))
    if not picked:
        raise UserError(f"no intact record from number {start} on")
    return picked


def _label_names(path: Path | None) -> dict[int, str] | None:
    """Class id -> name from a label map (the names training's eval uses), if one is given."""
    if path is None:
        return None
    label_map, findings = read_label_map(path)
    if not label_map.loadable or not label_map.items:
        problem = findings[0].message if findings else "it holds no items"
        raise UserError(f"cannot use the label map {path}: {problem}")
    return label_map.table().ids


def _caption(name: str, index: int, offset: int | None) -> str:
    short = Path(name).name if "://" not in name else name.rsplit("/", 1)[-1]
    return f"{short} @ byte {offset}" if index < 0 else f"{short} · record {index}"


def _save(picture: Image.Image, path: Path) -> None:
    """Save as the extension says, marked as tfod-doctor's (so a later run may replace it)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        info = PngInfo()
        info.add_text("Software", SIGNATURE.decode())
        picture.save(path, pnginfo=info)
    elif suffix in (".jpg", ".jpeg"):
        picture.save(path, comment=SIGNATURE)
    else:
        picture.save(path)


@click.command(
    epilog="""\b
Examples:
  tfod-doctor show data/train.tfrecord --index 7 -o record7.png
  tfod-doctor show data/train.tfrecord --offset 123456   the record a finding points at
  tfod-doctor show data/train.tfrecord --index 7 --label-map label_map.pbtxt
  tfod-doctor show 'data/train-*.tfrecord' --grid --count 25 -o grid.png
"""
)
@click.argument("records", nargs=-1, required=True)
@click.option("--index", "indices", type=click.IntRange(min=0), multiple=True,
              help="Record number N (0-based; counted across the files in order). Repeatable.")
@click.option("--offset", "offsets", type=click.IntRange(min=0), multiple=True,
              help="The record starting at this byte offset (one file). Repeatable.")
@click.option("--grid", "as_grid", is_flag=True,
              help="A grid of the first --count records (the default without --index).")
@click.option("--count", type=click.IntRange(min=1, max=400), default=DEFAULT_COUNT,
              show_default=True, help="Records in the grid.")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True,
              help="The record number the grid starts at.")
@click.option("--size", type=click.IntRange(min=64, max=2048), default=None,
              help="Longest side of each picture in pixels [default: 320 in a grid, 640 alone].")
@click.option("--label-map", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Name the boxes from this label_map.pbtxt (default: their class/text).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("records.png"), show_default=True,
              help="The picture to write (PNG, or JPEG by its extension).")
def show(records: tuple[str, ...], indices: tuple[int, ...], offsets: tuple[int, ...],
         as_grid: bool, count: int, start: int, size: int | None, label_map: Path | None,
         output: Path) -> int:
    """Draw records of RECORDS with their boxes and labels, as training sees them (no EXIF
    rotation, boxes clipped to the image), into a picture."""
    names = _label_names(label_map)
    sources = _sources(records)
    inputs = Protected.of([*records, label_map, *(s.path for s in sources)])
    check_file(output, inputs)
    if offsets:
        picked = _at_offsets(sources, list(offsets))
        offsets_shown: list[int | None] = list(offsets)
    elif indices and not as_grid:
        picked = _by_number(sources, set(indices))
        offsets_shown = [None] * len(picked)
    else:
        picked = _first(sources, start, count)
        offsets_shown = [None] * len(picked)
    side = size or (320 if len(picked) > 1 else 640)
    images, captions = [], []
    for (name, index, payload), offset in zip(picked, offsets_shown, strict=True):
        try:
            view = FeatureView.from_payload(payload)
        except ExampleDecodeError as exc:
            raise UserError(f"{name} record {index} is not a tf.train.Example: {exc}") from exc
        images.append(draw_record(view, names, max_side=side))
        captions.append(_caption(name, index, offset))
    sheet = grid(images, captions)
    try:
        write_file(output, lambda path: _save(sheet, path), inputs)
    except ValueError as exc:
        raise UserError(f"cannot write {output}: {exc}") from exc
    files = len({name for name, _, _ in picked})
    click.echo(f"wrote {output}: {len(picked)} record(s) from {files} file(s)", err=True)
    return 0


COMMANDS = [show]
