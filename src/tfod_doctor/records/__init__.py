"""The records layer: TFRecord framing, the tf.Example codec, and finding the files.

Nothing here knows about rules or the OD API; it reads and writes bytes and says exactly where
each record and each damage is.
"""

from tfod_doctor.records.example import (
    Bytes,
    ExampleDecodeError,
    FeatureView,
    Floats,
    Ints,
    Kind,
    NoKind,
    build_example,
    encode_example,
    parse_example,
)
from tfod_doctor.records.files import OpenedFile, open_records
from tfod_doctor.records.framing import (
    Damage,
    DamageKind,
    NoRecordHere,
    Record,
    RecordReader,
    read_record_at,
)
from tfod_doctor.records.salvage import Salvage, SalvageReport, salvage, salvage_to
from tfod_doctor.records.sniff import FileKind, image_format, sniff_file
from tfod_doctor.records.sources import InputProblem, Inputs, ProblemKind, Source, discover
from tfod_doctor.records.writer import TFRecordWriter, frame, write_records

__all__ = [
    "Bytes",
    "Damage",
    "DamageKind",
    "ExampleDecodeError",
    "FeatureView",
    "FileKind",
    "Floats",
    "InputProblem",
    "Inputs",
    "Ints",
    "Kind",
    "NoKind",
    "NoRecordHere",
    "OpenedFile",
    "ProblemKind",
    "Record",
    "RecordReader",
    "Salvage",
    "SalvageReport",
    "Source",
    "TFRecordWriter",
    "build_example",
    "discover",
    "encode_example",
    "frame",
    "image_format",
    "open_records",
    "parse_example",
    "read_record_at",
    "salvage",
    "salvage_to",
    "sniff_file",
    "write_records",
]
