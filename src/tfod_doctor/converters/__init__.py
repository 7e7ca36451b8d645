"""Converting annotation formats to OD API TFRecords, and records back (Datumaro-style).

Each format has one module with an importer (``load(source, options) -> SourceData``) and, where
there is one, an exporter; every importer produces the same source model
(:mod:`~tfod_doctor.converters.model`), and one pipeline (:mod:`~tfod_doctor.converters.pipeline`)
turns it into records with one tf.Example writer (:mod:`~tfod_doctor.converters.tfexample`, shared
with ``fix``), sharded output, a label map, an input-reader snippet and a manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tfod_doctor.converters import coco, csv_format, voc, yolo
from tfod_doctor.converters.coco import ExportResult
from tfod_doctor.converters.export import ExportOptions
from tfod_doctor.converters.images import ExifMode, ImageOptions, Reencode
from tfod_doctor.converters.model import (
    CanonicalBox,
    CanonicalSample,
    Categories,
    Category,
    Problem,
    ProblemKind,
    Skipped,
)
from tfod_doctor.converters.options import ConvertOptions
from tfod_doctor.converters.outputs import ConversionStopped, Progress
from tfod_doctor.converters.pipeline import ConversionResult, Importer, run_conversion
from tfod_doctor.converters.shards import Sharding, parse_size
from tfod_doctor.errors import UserError

#: Format name -> importer.
IMPORTERS: dict[str, Importer] = {
    coco.FORMAT: coco.load,
    voc.FORMAT: voc.load,
    yolo.FORMAT: yolo.load,
    csv_format.FORMAT: csv_format.load,
}
#: Format name -> exporter from records.
EXPORTERS: dict[str, Callable[..., ExportResult]] = {coco.FORMAT: coco.export}


def convert_dataset(fmt: str, source: Path, out: Path, options: ConvertOptions,
                    progress: Progress | None = None,
                    on_total: Callable[[int], None] | None = None) -> ConversionResult:
    """Convert ``source`` in format ``fmt`` into records under ``out``."""
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise UserError(f"unknown format {fmt!r}; use one of {', '.join(IMPORTERS)}")
    return run_conversion(importer, source, out, options, progress, on_total)


def export_records(fmt: str, records: Sequence[str], out: Path, options: ExportOptions,
                   progress: Progress | None = None) -> ExportResult:
    """Export record files to format ``fmt`` under ``out``."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise UserError(f"cannot export to {fmt!r}; formats: {', '.join(EXPORTERS)}")
    return exporter(records, out, options, progress)


__all__ = [
    "EXPORTERS",
    "IMPORTERS",
    "CanonicalBox",
    "CanonicalSample",
    "Categories",
    "Category",
    "ConversionResult",
    "ConversionStopped",
    "ConvertOptions",
    "ExifMode",
    "ExportOptions",
    "ExportResult",
    "ImageOptions",
    "Problem",
    "ProblemKind",
    "Reencode",
    "Sharding",
    "Skipped",
    "convert_dataset",
    "export_records",
    "parse_size",
]
