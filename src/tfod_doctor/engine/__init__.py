"""The engine: inputs -> work items -> per-record checks -> merged partial results -> Report."""

from tfod_doctor.engine.partial import FileStats, Partial
from tfod_doctor.engine.process import process
from tfod_doctor.engine.run import Plan, execute, finish, scan_plan
from tfod_doctor.engine.work import WorkItem

__all__ = ["FileStats", "Partial", "Plan", "WorkItem", "execute", "finish", "process", "scan_plan"]
