"""s3:// inputs through fsspec (s3fs), against a local moto S3 server on the loopback address."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tfod_doctor import api
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.testing import make_dataset

BUCKET = "od-data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1, and the environment that points s3fs at it."""
    try:
        import boto3
        import s3fs
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"moto[server] / s3fs are not installed ({exc}); pip install -e '.[test]'")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    s3fs.S3FileSystem.clear_instance_cache()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    s3fs.S3FileSystem.clear_instance_cache()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def uploaded(s3_endpoint, tmp_path_factory):
    """A dataset with a damaged record, on local disk and uploaded to s3://od-data/data/."""
    import boto3

    dataset = make_dataset(tmp_path_factory.mktemp("s3"), ["bad_payload_crc"], n_train=12,
                           train_shards=3, writer="tf")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    for path in dataset.train_files:
        client.upload_file(str(path), BUCKET, f"data/{path.name}")
    return dataset


def _as_s3(report, local_dir: str) -> dict:
    """A report with local paths written as the s3:// URLs of the same files."""
    data = report.to_dict()
    data.pop("inputs")
    return json.loads(json.dumps(data).replace(local_dir, f"s3://{BUCKET}/data"))


@pytest.mark.parametrize("options", [{"workers": 1}, {"workers": 2, "split_bytes": 1}])
def test_s3_glob_gives_the_report_of_the_same_files_on_disk(uploaded, options):
    """Read in this process, and in forked workers (remote files are read whole)."""
    local_dir = str(uploaded.train_files[0].parent)
    local = api.scan(f"{local_dir}/train-*.tfrecord", workers=1)
    remote = execute(scan_plan([f"s3://{BUCKET}/data/train-*.tfrecord"]), api.context(),
                     **options)
    assert remote.stats["totals"]["files"] == 3
    assert remote.by_rule("R004")[0].location.file.startswith("s3://")
    remote_data = remote.to_dict()
    remote_data.pop("inputs")
    assert remote_data == _as_s3(local, local_dir)


def test_s3_object_that_does_not_exist(uploaded):
    report = api.scan(f"s3://{BUCKET}/data/nothing-here.tfrecord")
    assert [f.rule for f in report] == ["R020"]
    assert report.exit_code() == 2
