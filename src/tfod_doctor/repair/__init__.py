"""Repairing records into new files: every repair noted, every input record accounted for.

    >>> from tfod_doctor.repair import RecordSet, RepairOptions, plan_repair
    >>> plan = plan_repair([RecordSet("train", sources)], RepairOptions(), out=Path("fixed"))
    >>> plan.to_dict()["changes"]        # records and boxes per repair and rule

``tfod_doctor.fix`` (the API) and ``tfod-doctor fix`` (the command) add the pipeline.config and
label map around this.
"""

from tfod_doctor.repair.record import Change, EditableRecord
from tfod_doctor.repair.run import MANIFEST, RecordSet, RepairPlan, plan_repair
from tfod_doctor.repair.transforms import EXIF_CHOICES, DatasetFacts, RepairOptions

__all__ = [
    "EXIF_CHOICES",
    "MANIFEST",
    "Change",
    "DatasetFacts",
    "EditableRecord",
    "RecordSet",
    "RepairOptions",
    "RepairPlan",
    "plan_repair",
]
