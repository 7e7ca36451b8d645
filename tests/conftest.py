"""Shared fixtures: TensorFlow as the oracle, and small datasets."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tf_oracle():
    """The TensorFlow oracle module; in CI a missing TensorFlow fails instead of skipping."""
    try:
        from tfod_doctor.testing import tf_oracle
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"TensorFlow is not installed ({exc}); pip install -e '.[test]'")
    return tf_oracle
