"""pipeline.config and label_map.pbtxt: parsed with line and column, checked, cross-checked.

    >>> from tfod_doctor.config import read_label_map, read_pipeline
    >>> label_map, findings = read_label_map("label_map.pbtxt")
    >>> label_map.table()          # a checks.context.LabelTable for the record rules
"""

from tfod_doctor.config.check import ConfigCheck, prepare_check
from tfod_doctor.config.label_map import LabelMap, parse_label_map, read_label_map
from tfod_doctor.config.pipeline import PipelineConfig, parse_pipeline, read_pipeline

__all__ = [
    "ConfigCheck",
    "LabelMap",
    "PipelineConfig",
    "parse_label_map",
    "parse_pipeline",
    "prepare_check",
    "read_label_map",
    "read_pipeline",
]
