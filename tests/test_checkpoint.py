"""The checkpoint: the ``.index`` reader against TensorFlow, what a checkpoint is, and ``check``
saying whether the config restores from it (A020-A023, C009 for an unreadable index)."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfod_doctor
from tfod_doctor.cli import main
from tfod_doctor.model.checkpoint import describe_index, extractor_family
from tfod_doctor.model.checkpoint_index import (
    TABLE_MAGIC,
    CheckpointIndexError,
    parse_index,
    read_index,
)
from tfod_doctor.testing import checkpoints, make_dataset


def _prefix(path: str | Path) -> Path:
    return Path(str(path))


def _index(prefix: str | Path) -> Path:
    return Path(f"{prefix}.index")


def _data_files(prefix: Path) -> list[Path]:
    return sorted(prefix.parent.glob(prefix.name + ".data-*"))


# -- checkpoints written by TensorFlow -------------------------------------------------------------


@pytest.fixture(scope="module")
def tf_checkpoints(tf_oracle, tmp_path_factory):
    """Checkpoints TensorFlow writes: Keras classification-like, the OD API's detection layout
    (one shard; several shards; several shards with a tensor cut into slices), and TF1."""
    tf = tf_oracle.tf
    import keras

    root = tmp_path_factory.mktemp("tf_checkpoints")
    written: dict[str, str] = {}
    small = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3),
                              keras.layers.BatchNormalization(),
                              keras.layers.DepthwiseConv2D(3),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5)])
    written["classification"] = tf.train.Checkpoint(feature_extractor=small).write(
        str(root / "classification" / "ckpt-1"))

    def od_layout() -> tf.train.Checkpoint:
        backbone = keras.applications.MobileNetV2(weights=None, include_top=False,
                                                  input_shape=(32, 32, 3))
        extractor = tf.train.Checkpoint(classification_backbone=backbone)
        return tf.train.Checkpoint(model=tf.train.Checkpoint(
            _feature_extractor=extractor, _box_predictor=_box_predictor(tf, 3)))

    layout = od_layout()
    written["detection"] = layout.save(str(root / "detection" / "ckpt"))  # with save_counter
    policy = tf.train.experimental.MaxShardSizePolicy
    written["sharded"] = layout.write(
        str(root / "sharded" / "ckpt-0"), options=tf.train.CheckpointOptions(
            experimental_sharding_callback=policy(max_shard_size=6_000_000)))
    written["sliced"] = layout.write(
        str(root / "sliced" / "ckpt-0"), options=tf.train.CheckpointOptions(
            experimental_sharding_callback=policy(max_shard_size=600_000)))
    written["tf1"] = _tf1_checkpoint(tf, root / "tf1" / "model.ckpt")
    return written


def _box_predictor(tf, num_classes: int, anchors: int = 6):
    """The OD API's weight-shared SSD box predictor as the checkpoint sees it: its heads'
    last convolutions (boxes: 4 x anchors outputs; classes: (classes + 1) x anchors)."""
    def head(layers: str, outputs: int):
        module = tf.Module()
        conv = tf.Module()
        conv.kernel = tf.Variable(tf.zeros([3, 3, 128, outputs]))
        setattr(module, layers, [conv])
        return module

    predictor = tf.Module()
    predictor._prediction_heads = {
        "box_encodings": head("_box_encoder_layers", 4 * anchors),
        "class_predictions_with_background": head("_class_predictor_layers",
                                                  (num_classes + 1) * anchors)}
    return predictor


def _tf1_checkpoint(tf, prefix: Path) -> str:
    """A TF1 name-based checkpoint, variables on two devices, saved sharded (two data files)."""
    prefix.parent.mkdir(parents=True)
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            tf.compat.v1.get_variable("FeatureExtractor/MobilenetV2/Conv/weights", [3, 3, 3, 32])
        with tf.device("/cpu:1"):
            tf.compat.v1.get_variable("BoxPredictor_0/ClassPredictor/weights", [1, 1, 576, 12])
        saver = tf.compat.v1.train.Saver(sharded=True)
        config = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
        with tf.compat.v1.Session(config=config) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, str(prefix), write_meta_graph=False)


@pytest.mark.parametrize("name", ["classification", "detection", "sharded", "sliced", "tf1"])
def test_reader_agrees_with_tensorflow(tf_checkpoints, tf_oracle, name):
    tf = tf_oracle.tf
    prefix = tf_checkpoints[name]
    index = read_index(_index(prefix))
    assert [(e.name, list(e.shape)) for e in index.entries] == [
        (n, s) for n, s in tf.train.list_variables(prefix)]
    dtypes = tf.train.load_checkpoint(prefix).get_variable_to_dtype_map()
    assert {e.name: e.dtype for e in index.entries} == {n: d.name for n, d in dtypes.items()}
    assert index.num_shards == len(_data_files(_prefix(prefix)))
    assert index.object_based is (name != "tf1")


def test_several_shards_and_slices_are_really_written(tf_checkpoints):
    assert len(_data_files(_prefix(tf_checkpoints["detection"]))) == 1
    assert len(_data_files(_prefix(tf_checkpoints["sharded"]))) > 1
    assert len(_data_files(_prefix(tf_checkpoints["tf1"]))) == 2
    sliced = read_index(_index(tf_checkpoints["sliced"]))
    assert any(e.sliced for e in sliced.entries)
    assert {e.shard_id for e in read_index(_index(tf_checkpoints["sharded"])).entries} == set(
        range(read_index(_index(tf_checkpoints["sharded"])).num_shards))


@pytest.mark.parametrize("name,kind,family", [
    ("classification", "classification", None),
    ("detection", "detection", "MobileNetV2"),
    ("sliced", "detection", "MobileNetV2"),
    ("tf1", "tf1", "MobileNetV2"),
])
def test_what_a_tensorflow_checkpoint_is(tf_checkpoints, name, kind, family):
    prefix = tf_checkpoints[name]
    facts = describe_index(prefix, read_index(_index(prefix)))
    assert facts.kind == kind
    assert (facts.backbone.family if facts.backbone else None) == family
    if name == "detection":
        assert facts.meta_arch == "ssd" and facts.num_classes == 3
        assert facts.backbone.stem == (3, 3, 3, 32) and facts.backbone.depthwise == 17


# -- our writer, our reader ---------------------------------------------------------------------

_names = st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=40)
_tensors = st.dictionaries(_names, st.tuples(st.sampled_from(["float32", "int64", "string"]),
                                             st.lists(st.integers(0, 4096), max_size=4)),
                           max_size=60)


@settings(max_examples=60, deadline=None)
@given(_tensors, st.integers(64, 4096), st.integers(1, 20))
def test_written_tables_read_back(tensors, block_size, restart_interval):
    items = [(b"", b"\x08\x01")]
    items += [(name.encode(), checkpoints._entry(dtype, tuple(shape), 0, 0))
              for name, (dtype, shape) in tensors.items()]
    data = checkpoints.table_bytes(items, block_size=block_size,
                                   restart_interval=restart_interval)
    index = parse_index(data)
    assert {e.name: (e.dtype, e.shape) for e in index.entries} == {
        name: (dtype, tuple(shape)) for name, (dtype, shape) in tensors.items()}
    assert index.names() == sorted(index.names(), key=str.encode)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_error(data):
    with pytest.raises(CheckpointIndexError):
        parse_index(data + struct.pack("<Q", TABLE_MAGIC) if len(data) % 2 else data)


_VALID = checkpoints.index_bytes(checkpoints.ssd_detection(3))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(_VALID) - 1), st.integers(0, len(_VALID) - 1), st.integers(0, 255))
def test_truncated_or_damaged_index_raises_only_our_error(cut, where, byte):
    with pytest.raises(CheckpointIndexError):
        parse_index(_VALID[:cut])
    damaged = bytearray(_VALID)
    damaged[where] = byte
    with contextlib.suppress(CheckpointIndexError):  # a changed value may still parse
        parse_index(bytes(damaged))


def test_snappy_blocks_are_refused_by_name():
    data = checkpoints.table_bytes([(b"", b"\x08\x01")], compression=1)
    with pytest.raises(CheckpointIndexError, match="snappy"):
        parse_index(data)


@pytest.mark.parametrize("written,family", [
    ("ssd_mobilenet_v2_fpn_keras", "MobileNetV2"), ("ssd_mobilenet_v1_keras", "MobileNetV1"),
    ("ssd_resnet50_v1_fpn_keras", "ResNet-50"), ("faster_rcnn_resnet101_keras", "ResNet-101"),
    ("resnet_v1_50_fpn", "ResNet-50"), ("resnet_v2_101", "ResNet-101"),
    ("faster_rcnn_inception_resnet_v2_keras", "Inception-ResNet-v2"),
    ("ssd_efficientnet-b0_bifpn_keras", "EfficientNet"), ("hourglass_104", "Hourglass"),
    ("mobilenet_v2_fpn_sep_conv", "MobileNetV2"), ("something_else", None),
])
def test_extractor_types_name_their_backbone(written, family):
    assert extractor_family(written) == family


@pytest.mark.parametrize("layout,family", [
    (checkpoints.ssd_detection(3), "MobileNetV2"),
    (checkpoints.ssd_detection(3, backbone="resnet50"), "ResNet-50"),
    (checkpoints.faster_rcnn_detection(3), "ResNet-50"),
    (checkpoints.center_net_detection(3), "ResNet-50"),
    (checkpoints.center_net_detection(3, backbone="hourglass"), "Hourglass"),
    (checkpoints.classification("resnet50"), "ResNet-50"),
    (checkpoints.resnet("feature_extractor", 101), "ResNet-101"),
    (checkpoints.resnet("feature_extractor", 152), "ResNet-152"),
])
def test_backbones_are_told_from_shapes(layout, family):
    facts = describe_index("ckpt", parse_index(checkpoints.index_bytes(layout)))
    assert facts.backbone is not None and facts.backbone.family == family


# -- check -------------------------------------------------------------------------------------


def _check_json(config: Path, tmp_path: Path, capsys) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as done:
        main(["check", str(config), "--format", "json", "-o", str(out)])
    capsys.readouterr()
    return done.value.code, json.loads(out.read_text())


def _line(config: Path, needle: str) -> int:
    return next(i for i, line in enumerate(config.read_text().splitlines(), 1) if needle in line)


def test_zoo_detection_checkpoint_restored_as_classification(tmp_path, capsys):
    dataset = make_dataset(tmp_path, ["checkpoint_type_classification"], n_train=2, n_eval=1)
    code, report = _check_json(dataset.config_path, tmp_path, capsys)
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["rule"] == "A020"]
    assert "is a detection checkpoint of an SSD with a MobileNetV2 backbone" in finding["message"]
    assert finding["location"]["line"] == _line(dataset.config_path, "fine_tune_checkpoint_type")
    assert finding["hint"] == 'set fine_tune_checkpoint_type: "detection"'
    assert "not bound to checkpointed values" in finding["evidence"]["tensorflow"]
    assert report["stats"]["model"]["checkpoint"]["kind"] == "detection"


def test_unset_type_defaults_to_classification_unless_from_detection_checkpoint(tmp_path):
    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    text = dataset.config_path.read_text()
    dataset.config_path.write_text(text.replace('  fine_tune_checkpoint_type: "detection"\n', ""))
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A020")
    assert "classification (the default)" in finding.message
    assert finding.location.line == _line(dataset.config_path, "fine_tune_checkpoint:")
    dataset.config_path.write_text(text.replace('fine_tune_checkpoint_type: "detection"',
                                                "from_detection_checkpoint: true"))
    assert tfod_doctor.check(dataset.config_path).by_rule("A020") == []


def test_classification_checkpoint_restored_as_detection(tmp_path, tf_checkpoints):
    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    text = dataset.config_path.read_text()
    dataset.config_path.write_text(text.replace(str(dataset.root / "checkpoint" / "ckpt-0"),
                                                tf_checkpoints["classification"]))
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A020")
    assert "is a classification checkpoint" in finding.message
    assert finding.hint == 'set fine_tune_checkpoint_type: "classification"'


def test_checkpoint_of_another_backbone(tmp_path):
    dataset = make_dataset(tmp_path, ["checkpoint_other_architecture"], n_train=2, n_eval=1)
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A021")
    assert "SSD with a ResNet-50 backbone (stem convolution 7x7x3x64" in finding.message
    assert "'ssd_mobilenet_v2_fpn_keras' builds a MobileNetV2 backbone" in finding.message
    assert finding.location.line == _line(dataset.config_path, "fine_tune_checkpoint:")


def test_checkpoint_of_another_meta_architecture(tmp_path):
    dataset = make_dataset(tmp_path, arch="faster_rcnn", n_train=2, n_eval=1)
    checkpoints.write_checkpoint(dataset.root / "checkpoint" / "ckpt-0",
                                 checkpoints.ssd_detection(3))
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A021")
    assert "is a detection checkpoint of an SSD" in finding.message
    assert "this config builds a Faster R-CNN" in finding.message
    assert "model/_feature_extractor_for_proposal_features" in finding.message


@pytest.mark.parametrize("arch", ["ssd", "faster_rcnn", "center_net"])
def test_a_fitting_checkpoint_is_described_and_not_reported(tmp_path, arch):
    dataset = make_dataset(tmp_path, arch=arch, n_train=2, n_eval=1)
    report = tfod_doctor.check(dataset.config_path)
    assert [f.rule for f in report.findings if f.rule.startswith("A02")] == []
    facts = report.stats["model"]["checkpoint"]
    assert (facts["kind"], facts["meta_arch"]) == ("detection", arch)


def test_tf1_checkpoint_under_tf2(tmp_path, tf_checkpoints):
    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    text = dataset.config_path.read_text()
    dataset.config_path.write_text(text.replace(str(dataset.root / "checkpoint" / "ckpt-0"),
                                                tf_checkpoints["tf1"]))
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A023")
    assert "TF1 (name-based) checkpoint of an SSD with a MobileNetV2 backbone" in finding.message
    assert "object-based" in finding.evidence["tensorflow"]


@pytest.mark.parametrize("content", [b"", b"\0" * 16, b"not a checkpoint index at all" * 3,
                                     _VALID[:-1], _VALID[:len(_VALID) // 2] + _VALID[-48:]])
def test_a_damaged_index_is_c009_not_a_crash(tmp_path, capsys, content):
    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    index = dataset.root / "checkpoint" / "ckpt-0.index"
    index.write_bytes(content)
    code, report = _check_json(dataset.config_path, tmp_path, capsys)
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["rule"] == "C009"]
    assert f"cannot be read: {index.name}: " in finding["message"]
    assert finding["location"]["line"] == _line(dataset.config_path, "fine_tune_checkpoint:")
    assert "checkpoint" not in report["stats"].get("model", {})
    assert report["stats"]["totals"]["records"] > 0


def _pointed_at(tmp_path: Path, prefix: str, kind: str, extractor: str | None = None) -> Path:
    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    text = dataset.config_path.read_text().replace(
        str(dataset.root / "checkpoint" / "ckpt-0"), prefix).replace(
        'fine_tune_checkpoint_type: "detection"', f'fine_tune_checkpoint_type: "{kind}"')
    if extractor:
        text = text.replace('"ssd_mobilenet_v2_fpn_keras"', f'"{extractor}"')
    dataset.config_path.write_text(text)
    return dataset.config_path


def _restore_rules(config: Path) -> list[str]:
    """The checkpoint rules (A020-A029) ``check`` fires on a config."""
    return [f.rule for f in tfod_doctor.check(config).findings if f.rule.startswith("A02")]


def test_tensorflow_restores_where_check_says_it_will(tf_checkpoints, tf_oracle, tmp_path):
    """What ``restore_from_objects`` asks for, restored by TensorFlow as ``load_fine_tune_
    checkpoint`` does, against what ``check`` says of the same checkpoint and type."""
    tf = tf_oracle.tf
    import keras

    prefix = tf_checkpoints["detection"]

    def restore(**objects) -> None:
        tf.train.Checkpoint(**objects).restore(prefix).expect_partial(
        ).assert_existing_objects_matched()

    def backbone(app=keras.applications.MobileNetV2):
        return app(weights=None, include_top=False, input_shape=(32, 32, 3))

    def detection(model) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(_feature_extractor=tf.train.Checkpoint(
            classification_backbone=model))

    restore(model=detection(backbone()))  # "detection" with the same backbone: restores
    config = _pointed_at(tmp_path / "a", prefix, "detection")
    assert _restore_rules(config) == []

    with pytest.raises(AssertionError, match="not bound to checkpointed values"):
        restore(feature_extractor=backbone())  # "classification"
    config = _pointed_at(tmp_path / "b", prefix, "classification")
    assert _restore_rules(config) == ["A020"]

    full = tf.train.Checkpoint(_feature_extractor=detection(backbone())._feature_extractor,
                               _box_predictor=_box_predictor(tf, 90))
    with pytest.raises(ValueError, match="Received incompatible tensor with shape"):
        restore(model=full)  # "full", with 90 classes where the checkpoint has 3
    config = _pointed_at(tmp_path / "d", prefix, "full")
    config.write_text(config.read_text().replace("num_classes: 3", "num_classes: 90"))
    assert _restore_rules(config) == ["A024"]

    with pytest.raises((AssertionError, ValueError)):
        restore(model=detection(backbone(keras.applications.MobileNet)))  # another backbone
    config = _pointed_at(tmp_path / "c", prefix, "detection", "ssd_mobilenet_v1_keras")
    (finding,) = tfod_doctor.check(config).by_rule("A021")
    assert "MobileNetV2 backbone" in finding.message and "builds a MobileNetV1" in finding.message


@pytest.mark.parametrize("layout", [checkpoints.ssd_detection, checkpoints.faster_rcnn_detection,
                                    checkpoints.center_net_detection])
def test_the_class_layer_tells_the_checkpoints_classes(layout):
    for classes in (1, 90):
        facts = describe_index("ckpt", parse_index(checkpoints.index_bytes(layout(classes))))
        assert facts.num_classes == classes


def test_full_restore_with_the_same_classes_is_fine(tmp_path):
    dataset = make_dataset(tmp_path, ["checkpoint_full_other_classes"], n_train=2, n_eval=1)
    (finding,) = tfod_doctor.check(dataset.config_path).by_rule("A024")
    assert "made for 90 classes and this config has num_classes: 3" in finding.message
    assert finding.hint == 'Set `fine_tune_checkpoint_type: "detection"`.'
    checkpoints.write_checkpoint(dataset.root / "checkpoint" / "ckpt-0",
                                 checkpoints.ssd_detection(3))
    assert tfod_doctor.check(dataset.config_path).by_rule("A024") == []
