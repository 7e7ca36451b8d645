"""A short name for a record's schema, for aggregators that count records by it.

Counting by ``FeatureView.schema`` itself hashes every ``(key, kind)`` pair of every record;
the token, made once per schema (see :func:`~tfod_doctor.checks._od.from_schema`), is a string
whose hash Python keeps, so a dictionary finds it at once.
"""

from __future__ import annotations

from tfod_doctor.checks._od import from_schema
from tfod_doctor.records import FeatureView


def schema_token(view: FeatureView) -> str:
    """A string that tells the schema of ``view`` apart from every other schema."""
    return from_schema(view, "token", _token)


def _token(view: FeatureView) -> str:
    return repr(view.schema)
