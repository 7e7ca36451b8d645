"""``explain``: from a TensorFlow / OD API error message (or a whole pasted traceback or log) to
its likely root causes, the rules that find them, and the command to run next; with the user's
pipeline.config, the causes are confirmed or ruled out against the files themselves.

- :mod:`.messages`: the catalogue of known messages, as data;
- :mod:`.log`: tracebacks, frames and exception types of a pasted log;
- :mod:`.explanation`: which entry explains a text;
- :mod:`.confirm`: the differential diagnosis against the user's files.
"""

from tfod_doctor.explain.explanation import (
    Explanation,
    Note,
    RuleRef,
    config_in_log,
    explain,
    not_recognised_command,
    places,
    rule_ref,
)
from tfod_doctor.explain.messages import KNOWN, Known

__all__ = ["KNOWN", "Explanation", "Known", "Note", "RuleRef", "config_in_log", "explain",
           "not_recognised_command", "places", "rule_ref"]
