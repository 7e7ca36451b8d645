"""pipeline.config and label_map.pbtxt: parsed with line and column and checked on their own.

The cross-checks with the records and the model live above, in :mod:`tfod_doctor.checkup`.

    >>> from tfod_doctor.config import read_label_map, read_pipeline
    >>> label_map, findings = read_label_map("label_map.pbtxt")
    >>> label_map.table()          # a checks.context.LabelTable for the record rules
"""

from tfod_doctor.config.label_map import LabelMap, parse_label_map, read_label_map
from tfod_doctor.config.pipeline import PipelineConfig, parse_pipeline, read_pipeline

__all__ = [
    "LabelMap",
    "PipelineConfig",
    "parse_label_map",
    "parse_pipeline",
    "read_label_map",
    "read_pipeline",
]
