"""The model layer: what the model builder and the train loop make of a config (rules A001-A010),
on the model zoo's own configs (``tests/data/zoo_configs``) filled in with real record files, as
``tfod_doctor.check`` and ``tfod-doctor check`` show it.

The extractor tables are compared with the installed OD API's ``model_builder.py`` source (its
dict literals, read with ``ast``: the module itself does not import under Keras 3).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

import tfod_doctor
from tfod_doctor.cli import main
from tfod_doctor.config.pipeline import parse_pipeline
from tfod_doctor.findings import Severity
from tfod_doctor.model import extractors
from tfod_doctor.model.architecture import describe, installed_generation
from tfod_doctor.model.review import ModelReview
from tfod_doctor.model.training import training
from tfod_doctor.records import Bytes, Floats, Ints, encode_example, frame
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.images import make_image

ZOO = Path(__file__).parent / "data" / "zoo_configs"
SSD = "ssd_mobilenet_v2_320x320_coco17_tpu-8.config"
FRCNN = "faster_rcnn_resnet50_v1_640x640_coco17_tpu-8.config"
MASK_RCNN = "mask_rcnn_inception_resnet_v2_1024x1024_coco17_gpu-8.config"
CENTERNET_KPTS = "centernet_hourglass104_512x512_kpts_coco17_tpu-32.config"
TF1_SSD = "ssd_mobilenet_v2_coco.config"
TF1_FRCNN = "faster_rcnn_resnet101_coco.config"
TF2_CONFIGS = [SSD, FRCNN, MASK_RCNN, CENTERNET_KPTS]
_PLACEHOLDER = re.compile(r'(\w+): "PATH_TO_BE_CONFIGURED[^"]*"')


def _zoo_text(name: str) -> str:
    return (ZOO / name).read_text()


def _parsed(name: str, edits: dict[str, str] | None = None):
    text = _zoo_text(name)
    for old, new in (edits or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_pipeline(text, name)[0]


def _fill(name: str, root: Path, dataset, edits: dict[str, str] | None = None,
          keypoint_label_map: str | None = None) -> Path:
    """The zoo config with its placeholders pointing at ``dataset``'s files, edited."""

    def path_for(match: re.Match) -> str:
        field, written = match[1], match[0]
        if field == "input_path":
            split = "eval" if "val" in written else "train"
            return f'input_path: "{root / "data" / f"{split}-*.tfrecord"}"'
        if field == "label_map_path":
            return f'label_map_path: "{dataset.label_map_path}"'
        if field == "keypoint_label_map_path":
            chosen = keypoint_label_map or str(_keypoint_map(root, 16))
            return f'keypoint_label_map_path: "{chosen}"'
        return f'{field}: "{root / "checkpoint" / "ckpt-0"}"'

    text = _PLACEHOLDER.sub(path_for, _zoo_text(name))
    for old, new in (edits or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = root / name
    path.write_text(text)
    return path


def _dataset(root: Path, n_train: int = 12):
    return make_dataset(root, n_train=n_train, n_eval=4)


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), 1) if needle in line)


def _write_records(root: Path, split: str, count: int, extra) -> None:
    """Replace ``split``'s record files with ``count`` records of one box each, plus the keys
    ``extra(index)`` gives."""
    folder = root / "data"
    for old in folder.glob(f"{split}-*.tfrecord"):
        old.unlink()
    payloads = []
    for i in range(count):
        features = {
            "image/encoded": Bytes([make_image(32, 32, "png", "RGB", seed=i)]),
            "image/format": Bytes([b"png"]), "image/height": Ints([32]),
            "image/width": Ints([32]), "image/source_id": Bytes([f"{split}{i}".encode()]),
            "image/object/bbox/xmin": Floats([0.1]), "image/object/bbox/xmax": Floats([0.6]),
            "image/object/bbox/ymin": Floats([0.2]), "image/object/bbox/ymax": Floats([0.7]),
            "image/object/class/label": Ints([1]), "image/object/class/text": Bytes([b"cat"]),
            **extra(i),
        }
        payloads.append(encode_example(features))
    (folder / f"{split}-00000-of-00001.tfrecord").write_bytes(
        b"".join(frame(p) for p in payloads))


def _png_mask(i: int) -> dict:
    return {"image/object/mask": Bytes([make_image(32, 32, "png", "L", seed=i)])}


def _float_mask(i: int) -> dict:
    return {"image/object/mask": Floats([0.0, 1.0] * 512)}


def _rules(report, prefix: str = "A") -> dict[str, list]:
    out: dict[str, list] = {}
    for finding in report:
        if finding.rule.startswith(prefix):
            out.setdefault(finding.rule, []).append(finding)
    return out


# -- the extractor tables against the OD API's own source -------------------------------------


def _model_builder_maps() -> dict[tuple[str, int], set[str]]:
    """``(map name, line)`` -> keys of every dict literal assigned to a ``*_MAP`` name."""
    odapi = pytest.importorskip("object_detection", reason="the OD API package is not installed")
    source = Path(odapi.__file__).parent / "builders" / "model_builder.py"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    maps: dict[tuple[str, int], set[str]] = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.endswith("_MAP"):
                    maps[(target.id, node.lineno)] = {
                        k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return maps


def _one(maps, name: str, nonempty: bool = True) -> set[str]:
    found = [keys for (map_name, _), keys in sorted(maps.items()) if map_name == name
             and bool(keys) == nonempty]
    assert len(found) == 1, f"{name}: {len(found)} literal(s)"
    return found[0]


def test_extractor_tables_are_the_model_builders():
    maps = _model_builder_maps()
    assert extractors.TF2["ssd"] == _one(maps, "SSD_KERAS_FEATURE_EXTRACTOR_CLASS_MAP")
    assert extractors.TF2["faster_rcnn"] == _one(
        maps, "FASTER_RCNN_KERAS_FEATURE_EXTRACTOR_CLASS_MAP")
    assert extractors.TF2["center_net"] == _one(maps, "CENTER_NET_EXTRACTOR_FUNCTION_MAP")
    assert extractors.TF1["ssd"] == _one(maps, "SSD_FEATURE_EXTRACTOR_CLASS_MAP")
    assert extractors.TF1["faster_rcnn"] == _one(maps, "FASTER_RCNN_FEATURE_EXTRACTOR_CLASS_MAP")
    # TF1's CenterNet map is the empty literal.
    assert extractors.TF1["center_net"] == _one(maps, "CENTER_NET_EXTRACTOR_FUNCTION_MAP",
                                                nonempty=False)


def test_builder_messages_are_the_model_builders():
    odapi = pytest.importorskip("object_detection", reason="the OD API package is not installed")
    source = (Path(odapi.__file__).parent / "builders" / "model_builder.py").read_text()
    assert "is not supported for tf version {}. See `model_builder.py` for " in source
    assert "'features extractors compatible with different versions of '" in source
    schedules = (Path(odapi.__file__).parent / "utils" / "learning_schedules.py").read_text()
    assert "'total_steps must be larger or equal to '\n                     'warmup_steps.'" in (
        schedules)


def test_tf2_is_assumed_here():
    assert installed_generation() == 2


@pytest.mark.parametrize("folders, generation", [
    (["object_detection", "tensorflow_gpu-1.15.5.dist-info"], 1),
    (["object_detection", "tensorflow-2.13.1.dist-info", "tensorflow_gpu-1.15.5.dist-info"], 2),
    (["object_detection", "tensorflow-1.15.0-py3.7.egg-info"], 1),
    (["tensorflow_gpu-1.15.5.dist-info"], 2),  # no OD API: its current releases are TF2
    (["object_detection"], 2),
])
def test_tf1_is_detected_next_to_an_od_api(tmp_path, monkeypatch, folders, generation):
    """Read from the distributions' metadata folders, as pip installs them."""
    for folder in folders:
        (tmp_path / folder).mkdir()
        if folder == "object_detection":
            (tmp_path / folder / "__init__.py").write_text("")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.delitem(sys.modules, "object_detection", raising=False)
    assert installed_generation.__wrapped__() == generation


# -- describing the model ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "meta_arch", "kind", "extractor", "needs"), [
    (SSD, "ssd", "ssd", "ssd_mobilenet_v2_keras", ()),
    (FRCNN, "faster_rcnn", "faster_rcnn", "faster_rcnn_resnet50_keras", ()),
    (MASK_RCNN, "faster_rcnn", "mask_rcnn", "faster_rcnn_inception_resnet_v2_keras",
     ("masks",)),
    (CENTERNET_KPTS, "center_net", "center_net", "hourglass_104", ("keypoints",)),
])
def test_zoo_models_are_described(name, meta_arch, kind, extractor, needs):
    model = describe(_parsed(name), generation=2)
    assert (model.meta_arch, model.kind, model.extractor, model.needs) == (
        meta_arch, kind, extractor, needs)
    assert model.supported is True


def test_centernet_mask_densepose_and_deepmac_heads():
    config = _parsed(CENTERNET_KPTS, {"    keypoint_label_map_path:": (
        "    mask_estimation_task {\n      task_loss_weight: 1.0\n    }\n"
        "    densepose_estimation_task {\n      class_id: 1\n    }\n"
        "    keypoint_label_map_path:")})
    model = describe(config, generation=2)
    assert model.needs == ("masks", "keypoints", "densepose")
    deepmac = describe(_parsed(CENTERNET_KPTS, {"    keypoint_label_map_path:": (
        "    deepmac_mask_estimation {\n      dim: 8\n    }\n    keypoint_label_map_path:")}),
        generation=2)
    assert deepmac.kind == "deepmac" and "masks" in deepmac.needs


def test_a_feature_extractor_without_type():
    config = _parsed(FRCNN, {"      type: 'faster_rcnn_resnet50_keras'\n": ""})
    [finding] = ModelReview(config, describe(config, generation=2), training(config)).findings()
    assert finding.rule == "A001" and "names no type" in finding.message
    assert finding.location.line == _line_of(ZOO / FRCNN, "feature_extractor {")


def test_stats_describe_the_model(tmp_path):
    dataset = _dataset(tmp_path)
    report = tfod_doctor.check(_fill(MASK_RCNN, tmp_path, dataset))
    model = json.loads(report.to_json())["stats"]["model"]
    assert model["meta_arch"] == "faster_rcnn" and model["kind"] == "mask_rcnn"
    assert model["extractor"] == "faster_rcnn_inception_resnet_v2_keras"
    assert model["tf2_supported"] is True and model["needs"] == ["masks"]
    assert model["training"]["num_steps"] == 200000
    assert model["training"]["train_records"] == 12


# -- A001 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "extractor", "replacement"), [
    (TF1_SSD, "ssd_mobilenet_v2", "ssd_mobilenet_v2_keras"),
    (TF1_FRCNN, "faster_rcnn_resnet101", "faster_rcnn_resnet101_keras"),
])
def test_a_tf1_config_under_tf2_names_its_replacement(name, extractor, replacement, tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(name, tmp_path, dataset)
    report = tfod_doctor.check(path)
    [finding] = _rules(report)["A001"]
    assert finding.severity is Severity.ERROR
    assert finding.location.line == _line_of(path, f"type: '{extractor}'")
    assert extractor in finding.message and replacement in finding.hint
    assert finding.evidence["tensorflow"] == (
        f"ValueError: {extractor} is not supported for tf version 2. See `model_builder.py` for "
        "features extractors compatible with different versions of Tensorflow")


@pytest.mark.parametrize("name", TF2_CONFIGS)
def test_tf2_zoo_configs_build_under_tf2(name, tmp_path):
    dataset = _dataset(tmp_path)
    report = tfod_doctor.check(_fill(name, tmp_path, dataset))
    assert "A001" not in _rules(report)


def test_a_keras_config_under_tf1_names_the_slim_extractor():
    config = _parsed(SSD)
    model = describe(config, generation=1)
    assert model.supported is False and model.replacement == "ssd_mobilenet_v2"
    [finding] = ModelReview(config, model, training(config)).findings()
    assert finding.rule == "A001" and "'ssd_mobilenet_v2'" in finding.hint


def test_centernet_under_tf1_is_tf2_only():
    config = _parsed(CENTERNET_KPTS)
    [finding] = [f for f in ModelReview(config, describe(config, generation=1),
                                        training(config)).findings() if f.rule == "A001"]
    assert "TF2 only" in finding.message


def test_an_ssd_extractor_in_faster_rcnn_is_named():
    config = _parsed(FRCNN, {"'faster_rcnn_resnet50_keras'": "'ssd_resnet50_v1_fpn_keras'"})
    model = describe(config, generation=2)
    [finding] = ModelReview(config, model, training(config)).findings()
    assert finding.evidence["tensorflow"] == (
        "ValueError: Unknown Faster R-CNN feature_extractor: ssd_resnet50_v1_fpn_keras")


def test_the_cli_reports_a001_with_exit_1(tmp_path, capsys):
    dataset = _dataset(tmp_path)
    path = _fill(TF1_SSD, tmp_path, dataset)
    with pytest.raises(SystemExit) as done:
        main(["check", str(path), "--select", "A001", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert done.value.code == 1
    assert [f["rule"] for f in data["findings"]] == ["A001"]


# -- A002, A004: masks ----------------------------------------------------------------------


def test_mask_rcnn_without_load_instance_masks(tmp_path):
    dataset = _dataset(tmp_path)
    text_edits = {"  load_instance_masks: true\n  mask_type: PNG_MASKS\n": ""}
    path = _fill(MASK_RCNN, tmp_path, dataset)
    text = path.read_text()
    for old in text_edits:
        text = text.replace(old, "")
    path.write_text(text)
    report = tfod_doctor.check(path)
    [finding] = _rules(report)["A002"]
    assert finding.location.line == _line_of(path, "predict_instance_masks: true")
    assert "train_input_reader and eval_input_reader do not set" in finding.message
    assert "0 of 16 records" in finding.message
    assert finding.evidence["tensorflow"].startswith(
        "ValueError: Groundtruth instance masks not provided")


def test_mask_rcnn_with_the_flag_but_records_without_masks(tmp_path):
    dataset = _dataset(tmp_path)
    report = tfod_doctor.check(_fill(MASK_RCNN, tmp_path, dataset))
    [finding] = _rules(report)["A002"]
    assert "none of the 16 records" in finding.message


def test_mask_rcnn_with_png_masks_is_quiet(tmp_path):
    dataset = _dataset(tmp_path)
    _write_records(tmp_path, "train", 6, _png_mask)
    _write_records(tmp_path, "eval", 2, _png_mask)
    report = tfod_doctor.check(_fill(MASK_RCNN, tmp_path, dataset))
    assert not {"A002", "A004"} & set(_rules(report))


def test_mask_type_against_float_masks(tmp_path):
    dataset = _dataset(tmp_path)
    _write_records(tmp_path, "train", 6, _float_mask)
    _write_records(tmp_path, "eval", 2, _float_mask)
    path = _fill(MASK_RCNN, tmp_path, dataset)
    report = tfod_doctor.check(path)
    findings = _rules(report)["A004"]
    assert {f.location.line for f in findings} == {
        i for i, line in enumerate(path.read_text().split("\n"), 1)
        if "mask_type: PNG_MASKS" in line}
    assert all("NUMERICAL_MASKS" in f.hint for f in findings)


def test_numerical_mask_type_against_png_masks(tmp_path):
    dataset = _dataset(tmp_path)
    _write_records(tmp_path, "train", 6, _png_mask)
    _write_records(tmp_path, "eval", 2, _png_mask)
    path = _fill(MASK_RCNN, tmp_path, dataset)
    path.write_text(path.read_text().replace("mask_type: PNG_MASKS", "mask_type: NUMERICAL_MASKS"))
    report = tfod_doctor.check(path)
    assert len(_rules(report)["A004"]) == 2


# -- A003: keypoints ------------------------------------------------------------------------


def test_keypoint_task_without_num_keypoints(tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(CENTERNET_KPTS, tmp_path, dataset)
    path.write_text(path.read_text().replace("  num_keypoints: 17\n", ""))
    report = tfod_doctor.check(path)
    findings = _rules(report)["A003"]
    assert [f.location.line for f in findings] == [_line_of(path, "keypoint_estimation_task {")]
    assert "num_keypoints" in findings[0].message
    assert findings[0].evidence["tensorflow"] == (
        "RuntimeError: Groundtruth tensor keypoints has not been provided")


def test_keypoint_task_with_records_without_keypoints(tmp_path):
    dataset = _dataset(tmp_path)
    report = tfod_doctor.check(_fill(CENTERNET_KPTS, tmp_path, dataset))
    [finding] = _rules(report)["A003"]
    # The zoo config's eval reader reads the train files too: 12 records in all.
    assert "none of the 12 records" in finding.message


def test_keypoint_task_with_keypoints_is_quiet(tmp_path):
    dataset = _dataset(tmp_path)
    points = {"image/object/keypoint/x": Floats([0.3] * 17),
              "image/object/keypoint/y": Floats([0.4] * 17)}
    _write_records(tmp_path, "train", 6, lambda i: points)
    report = tfod_doctor.check(_fill(CENTERNET_KPTS, tmp_path, dataset))
    assert "A003" not in _rules(report)


def test_keypoint_task_without_keypoint_label_map(tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(CENTERNET_KPTS, tmp_path, dataset)
    text = re.sub(r'\n    keypoint_label_map_path: "[^"]*"', "", path.read_text())
    path.write_text(text)
    findings = _rules(tfod_doctor.check(path))["A003"]
    assert any("keypoint_label_map_path" in f.message for f in findings)


def _keypoint_map(root: Path, top: int) -> Path:
    path = root / "person_keypoints.pbtxt"
    points = "".join(f"  keypoints {{ id: {i} label: 'k{i}' }}\n" for i in range(top + 1))
    path.write_text(f"item {{\n  id: 1\n  name: '/m/01g317'\n{points}}}\n")
    return path


def test_keypoint_label_map_as_the_model_builder_reads_it(tmp_path):
    dataset = _dataset(tmp_path)
    points = {"image/object/keypoint/x": Floats([0.3] * 17),
              "image/object/keypoint/y": Floats([0.4] * 17)}
    _write_records(tmp_path, "train", 6, lambda i: points)
    good = _fill(CENTERNET_KPTS, tmp_path, dataset,
                 keypoint_label_map=str(_keypoint_map(tmp_path, 16)))
    assert "A003" not in _rules(tfod_doctor.check(good))
    # 18 keypoints in the map, 17 in the readers.
    _keypoint_map(tmp_path, 17)
    findings = _rules(tfod_doctor.check(good))["A003"]
    assert {f.location.line for f in findings} == {
        i for i, line in enumerate(good.read_text().split("\n"), 1) if "num_keypoints: 17" in line}
    # The task's class is not in the map.
    text = good.read_text().replace('keypoint_class_name: "/m/01g317"',
                                    'keypoint_class_name: "person"')
    good.write_text(text)
    [finding] = [f for f in _rules(tfod_doctor.check(good))["A003"]
                 if "keypoint_class_name" in f.message]
    assert finding.evidence["tensorflow"] == "KeyError: 'person'"


def test_keypoint_label_map_that_does_not_exist(tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(CENTERNET_KPTS, tmp_path, dataset,
                 keypoint_label_map=str(tmp_path / "nowhere.pbtxt"))
    findings = _rules(tfod_doctor.check(path))["A003"]
    assert any("does not exist" in f.message for f in findings)


def test_keypoint_label_map_placeholder_is_c026():
    _, findings = parse_pipeline(_zoo_text(CENTERNET_KPTS), CENTERNET_KPTS)
    lines = {f.location.line for f in findings if f.rule == "C026"}
    line = next(i for i, text in enumerate(_zoo_text(CENTERNET_KPTS).split("\n"), 1)
                if "keypoint_label_map_path" in text)
    assert line in lines


# -- A005-A008: steps and schedule ----------------------------------------------------------


def _config_rules(name: str, edits: dict[str, str] | None = None) -> dict[str, list]:
    config = _parsed(name, edits)
    review = ModelReview(config, describe(config, generation=2), training(config))
    out: dict[str, list] = {}
    for finding in review.findings():
        out.setdefault(finding.rule, []).append(finding)
    return out


@pytest.mark.parametrize("name", TF2_CONFIGS)
def test_zoo_schedules_are_quiet(name):
    assert _config_rules(name) == {}


def test_warmup_above_total_steps():
    [finding] = _config_rules(SSD, {"total_steps: 50000": "total_steps: 1000"})["A005"]
    assert finding.severity is Severity.ERROR
    assert finding.evidence["tensorflow"] == (
        "ValueError: total_steps must be larger or equal to warmup_steps.")
    assert finding.location.line == _line_of(ZOO / SSD, "warmup_steps: 2000")


def test_schedule_shorter_than_training():
    rules = _config_rules(FRCNN, {"num_steps: 25000": "num_steps: 40000"})
    [finding] = rules["A006"]
    assert "last 15000 steps" in finding.message and finding.hint == "set total_steps: 40000"
    assert finding.location.line == _line_of(ZOO / FRCNN, "total_steps: 25000")


def test_schedule_longer_than_training():
    [finding] = _config_rules(MASK_RCNN, {"num_steps: 200000": "num_steps: 20000"})["A007"]
    assert finding.evidence["final_share"] > 0.9


def test_num_steps_unset():
    [finding] = _config_rules(CENTERNET_KPTS, {"  num_steps: 250000\n": ""})["A008"]
    assert finding.location.line == _line_of(ZOO / CENTERNET_KPTS, "train_config: {")
    assert "--num_train_steps" in finding.message


# -- A009, A010: the train split ------------------------------------------------------------


def test_zoo_batch_and_steps_against_a_dozen_records(tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(SSD, tmp_path, dataset)
    rules = _rules(tfod_doctor.check(path))
    [epochs] = rules["A009"]
    assert epochs.evidence["epochs"] == pytest.approx(50000 * 512 / 12, rel=1e-3)
    assert epochs.severity is Severity.INFO
    [batch] = rules["A010"]
    assert batch.location.line == _line_of(path, "batch_size: 512")
    assert "12 records" in batch.message


def test_a_reasonable_run_is_quiet(tmp_path):
    dataset = _dataset(tmp_path)
    path = _fill(SSD, tmp_path, dataset, {"batch_size: 512": "batch_size: 8",
                                          "num_steps: 50000": "num_steps: 3000",
                                          "total_steps: 50000": "total_steps: 3000",
                                          "warmup_steps: 2000": "warmup_steps: 100"})
    rules = _rules(tfod_doctor.check(path))
    assert not {"A005", "A006", "A007", "A008", "A009", "A010"} & set(rules)


# -- corrected advice -----------------------------------------------------------------------


def test_bfloat16_is_a_tpu_note_not_a_failure():
    _, findings = parse_pipeline(_zoo_text(FRCNN), FRCNN)
    [finding] = [f for f in findings if f.rule == "C012"]
    assert finding.severity is Severity.INFO
    assert "fails" not in finding.message and "TPU" in finding.message
    odapi = pytest.importorskip("object_detection", reason="the OD API package is not installed")
    lib = (Path(odapi.__file__).parent / "model_lib_v2.py").read_text()
    assert "'use_bfloat16': configs['train_config'].use_bfloat16 and use_tpu" in lib


def test_from_detection_checkpoint_is_replaced_not_deleted():
    _, findings = parse_pipeline(_zoo_text(TF1_FRCNN), TF1_FRCNN)
    [finding] = [f for f in findings if f.rule == "C013"
                 and "from_detection_checkpoint" in f.message]
    assert 'fine_tune_checkpoint_type: "detection"' in finding.hint
    assert "delete" not in finding.hint
    odapi = pytest.importorskip("object_detection", reason="the OD API package is not installed")
    util = (Path(odapi.__file__).parent / "utils" / "config_util.py").read_text()
    assert "if train_config.from_detection_checkpoint:" in util


def test_from_detection_checkpoint_beside_a_type_may_go():
    text = _zoo_text(TF1_FRCNN).replace(
        "from_detection_checkpoint: true",
        'from_detection_checkpoint: true\n  fine_tune_checkpoint_type: "detection"')
    _, findings = parse_pipeline(text, TF1_FRCNN)
    [finding] = [f for f in findings if f.rule == "C013"
                 and "from_detection_checkpoint" in f.message]
    assert "delete" in finding.hint


@pytest.mark.parametrize(("written", "meant"), [
    ("open_images_V2_detection_metrics", "oid_V2_detection_metrics"),
    ("oid_challenge_object_detection_metrics", "oid_challenge_detection_metrics"),
    ("open_images_detection_metrics", "oid_V2_detection_metrics"),
    ("coco_detection_metric", "coco_detection_metrics"),
])
def test_unknown_metric_hint(written, meant):
    text = _zoo_text(SSD).replace('metrics_set: "coco_detection_metrics"',
                                  f'metrics_set: "{written}"')
    _, findings = parse_pipeline(text, SSD)
    [finding] = [f for f in findings if f.rule == "C021"]
    assert finding.hint.endswith(f"did you mean {meant}?")


def test_c011_is_a_type_no_model_accepts_at_its_catalogue_severity(tmp_path):
    from tfod_doctor import catalogue

    _, findings = parse_pipeline(_zoo_text(SSD).replace(
        'fine_tune_checkpoint_type: "classification"', 'fine_tune_checkpoint_type: "whole"'), SSD)
    [refused] = [f for f in findings if "whole" in f.message]
    assert refused.rule == "C011" and refused.severity is catalogue.get("C011").severity
    assert refused.severity is Severity.ERROR
    # A type that fits no checkpoint is not C011's but A020's (the checkpoint is read).
    dataset = make_dataset(tmp_path / "a", ["checkpoint_type_classification"])
    report = tfod_doctor.check(dataset.config_path)
    assert report.by_rule("A020") and not report.by_rule("C011")
