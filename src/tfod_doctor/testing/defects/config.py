"""Defects of pipeline.config: its text, its values, and the paths it names."""

from __future__ import annotations

from tfod_doctor.testing.builder import Builder, Stage, defect

CONFIG = "pipeline.config"


def _replace(b: Builder, old: str, new: str, after: int = 0) -> int:
    """Replace the first ``old`` after line ``after``; return its 1-based line."""
    line = b.config_line(old, after)
    lines = b.config_text.split("\n")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    b.config_text = "\n".join(lines)
    return line


def _insert_after(b: Builder, needle: str, text: str, after: int = 0) -> int:
    """Insert ``text`` as a new line after the line holding ``needle``; return its line."""
    line = b.config_line(needle, after)
    lines = b.config_text.split("\n")
    lines.insert(line, text)
    b.config_text = "\n".join(lines)
    return line + 1


def _delete_line(b: Builder, needle: str, after: int = 0) -> None:
    line = b.config_line(needle, after)
    lines = b.config_text.split("\n")
    del lines[line - 1]
    b.config_text = "\n".join(lines)


def _eval_reader(b: Builder) -> int:
    return b.config_line("eval_input_reader {")


def _plant(b: Builder, name: str, line: int, note: str = "") -> None:
    b.plant(name, file=CONFIG, line=line, note=note)


@defect("config_smart_quotes", Stage.CONFIG)
def config_smart_quotes(b: Builder) -> None:
    """Typographic quotes around fine_tune_checkpoint_type's value (pasted from a web page)."""
    _plant(b, "config_smart_quotes",
           _replace(b, 'fine_tune_checkpoint_type: "detection"',
                    "fine_tune_checkpoint_type: “detection”"))


@defect("config_unknown_field", Stage.CONFIG)
def config_unknown_field(b: Builder) -> None:
    """input_paths (a typo) instead of input_path in the train reader."""
    _plant(b, "config_unknown_field", _replace(b, "input_path:", "input_paths:"))


@defect("config_bad_enum", Stage.CONFIG)
def config_bad_enum(b: Builder) -> None:
    """fine_tune_checkpoint_version: V3 (no such value)."""
    _plant(b, "config_bad_enum", _replace(b, "fine_tune_checkpoint_version: V2",
                                          "fine_tune_checkpoint_version: V3"))


@defect("config_fraction_for_integer", Stage.CONFIG)
def config_fraction_for_integer(b: Builder) -> None:
    """batch_size: 4.5 in train_config."""
    line = b.config_line("  batch_size: ", b.config_line("train_config"))
    lines = b.config_text.split("\n")
    lines[line - 1] = "  batch_size: 4.5"
    b.config_text = "\n".join(lines)
    _plant(b, "config_fraction_for_integer", line)


@defect("config_field_twice", Stage.CONFIG)
def config_field_twice(b: Builder) -> None:
    """num_classes set a second time in the model block (the second one wins)."""
    _plant(b, "config_field_twice", _insert_after(b, "num_classes:", "    num_classes: 90"))


@defect("config_two_architectures", Stage.CONFIG)
def config_two_architectures(b: Builder) -> None:
    """A faster_rcnn block before the model's own block: model holds two architectures."""
    arch = b.config_spec.arch if b.config_spec else "ssd"
    other = "center_net" if arch == "faster_rcnn" else "faster_rcnn"
    _insert_after(b, "model {", f"  {other} {{\n    num_classes: {len(b.classes)}\n  }}")
    _plant(b, "config_two_architectures", b.config_line(f"  {arch} {{"))


@defect("config_newer_than_install", Stage.CONFIG)
def config_newer_than_install(b: Builder) -> None:
    """Nothing changes in the text: an older installed OD API lacks fine_tune_checkpoint_version
    (the test installs such an API)."""
    _plant(b, "config_newer_than_install", b.config_line("fine_tune_checkpoint_version"))


@defect("checkpoint_version_missing", Stage.CONFIG)
def checkpoint_version_missing(b: Builder) -> None:
    """No fine_tune_checkpoint_version line (it defaults to V1)."""
    _delete_line(b, "fine_tune_checkpoint_version")
    _plant(b, "checkpoint_version_missing", b.config_line("fine_tune_checkpoint:"))


@defect("checkpoint_missing", Stage.CONFIG)
def checkpoint_missing(b: Builder) -> None:
    """fine_tune_checkpoint names ckpt-1, which does not exist (only ckpt-0 does)."""
    _plant(b, "checkpoint_missing", _replace(b, 'ckpt-0"', 'ckpt-1"'))


@defect("checkpoint_index_file", Stage.CONFIG)
def checkpoint_index_file(b: Builder) -> None:
    """fine_tune_checkpoint names the .index file instead of the prefix."""
    _plant(b, "checkpoint_index_file", _replace(b, 'ckpt-0"', 'ckpt-0.index"'))


@defect("checkpoint_type_classification", Stage.CONFIG)
def checkpoint_type_classification(b: Builder) -> None:
    """A model-zoo style detection checkpoint restored as classification."""
    _plant(b, "checkpoint_type_classification",
           _replace(b, 'fine_tune_checkpoint_type: "detection"',
                    'fine_tune_checkpoint_type: "classification"'))


@defect("use_bfloat16", Stage.CONFIG)
def use_bfloat16(b: Builder) -> None:
    """use_bfloat16: true in train_config."""
    _plant(b, "use_bfloat16", _insert_after(b, "  batch_size: ", "  use_bfloat16: true",
                                            b.config_line("train_config")))


@defect("train_config_max_boxes_only", Stage.CONFIG)
def train_config_max_boxes_only(b: Builder) -> None:
    """max_number_of_boxes: 300 in train_config only (TF2 ignores it; readers keep 100)."""
    _plant(b, "train_config_max_boxes_only",
           _replace(b, "  max_number_of_boxes: 100", "  max_number_of_boxes: 300",
                    b.config_line("train_config")))


@defect("num_classes_missing", Stage.CONFIG)
def num_classes_missing(b: Builder) -> None:
    """No num_classes in the model block."""
    _delete_line(b, "num_classes:")
    arch = b.config_spec.arch if b.config_spec else "ssd"
    _plant(b, "num_classes_missing", b.config_line(f"  {arch} {{"))


@defect("num_classes_too_large", Stage.CONFIG)
def num_classes_too_large(b: Builder) -> None:
    """num_classes: 90 (left from a COCO config) for a 3-class label map."""
    _plant(b, "num_classes_too_large", _replace(b, f"num_classes: {len(b.classes)}",
                                                "num_classes: 90"))


@defect("label_map_path_wrong", Stage.CONFIG)
def label_map_path_wrong(b: Builder) -> None:
    """The train reader's label_map_path names labelmap.pbtxt (the file is label_map.pbtxt)."""
    _plant(b, "label_map_path_wrong", _replace(b, "label_map.pbtxt", "labelmap.pbtxt"))


@defect("eval_label_map_unset", Stage.CONFIG)
def eval_label_map_unset(b: Builder) -> None:
    """No label_map_path in eval_input_reader."""
    _delete_line(b, "label_map_path", _eval_reader(b))
    _plant(b, "eval_label_map_unset", _eval_reader(b))


@defect("input_path_matches_nothing", Stage.CONFIG)
def input_path_matches_nothing(b: Builder) -> None:
    """A second train input_path: a shard pattern that matches no file."""
    pattern = b.path("data/train.record-?????-of-00010")
    _plant(b, "input_path_matches_nothing",
           _insert_after(b, "input_path:", f'    input_path: "{pattern}"'))


@defect("input_path_relative_to_config", Stage.CONFIG)
def input_path_relative_to_config(b: Builder) -> None:
    """The train input_path is relative to the config's folder (not to where training runs)."""
    absolute = str(b.path("data/train-*.tfrecord"))
    _plant(b, "input_path_relative_to_config",
           _replace(b, f'"{absolute}"', '"data/train-*.tfrecord"'))


@defect("input_path_directory", Stage.CONFIG)
def input_path_directory(b: Builder) -> None:
    """The eval input_path names the data folder instead of the files in it."""
    pattern = str(b.path("data/eval-*.tfrecord"))
    _plant(b, "input_path_directory", _replace(b, pattern, str(b.path("data"))))


@defect("unknown_metric", Stage.CONFIG)
def unknown_metric(b: Builder) -> None:
    """metrics_set: "coco_detection_metric" (missing s)."""
    _plant(b, "unknown_metric", _replace(b, '"coco_detection_metrics"',
                                         '"coco_detection_metric"'))


@defect("sample_1_of_n", Stage.CONFIG)
def sample_1_of_n(b: Builder) -> None:
    """The train reader keeps every 2nd record (sample_1_of_n_examples: 2)."""
    _plant(b, "sample_1_of_n", _insert_after(b, "train_input_reader {",
                                             "  sample_1_of_n_examples: 2"))


@defect("eval_batch_larger_than_dataset", Stage.CONFIG)
def eval_batch_larger_than_dataset(b: Builder) -> None:
    """eval_config.batch_size larger than the eval records (one epoch, drop_remainder)."""
    size = 2 * sum(len(b.slots[n]) for n in b.files("eval")) + 2
    _plant(b, "eval_batch_larger_than_dataset",
           _insert_after(b, "eval_config {", f"  batch_size: {size}"))


@defect("eval_reads_train_files", Stage.CONFIG)
def eval_reads_train_files(b: Builder) -> None:
    """The eval reader reads the train records."""
    _plant(b, "eval_reads_train_files",
           _replace(b, str(b.path("data/eval-*.tfrecord")), str(b.path("data/train-*.tfrecord"))))


@defect("load_all_detection_checkpoint_vars", Stage.CONFIG)
def load_all_detection_checkpoint_vars(b: Builder) -> None:
    """load_all_detection_checkpoint_vars: true (a TF1 option TF2 refuses)."""
    _plant(b, "load_all_detection_checkpoint_vars",
           _insert_after(b, "  batch_size: ", "  load_all_detection_checkpoint_vars: true",
                         b.config_line("train_config")))


@defect("path_placeholder", Stage.CONFIG)
def path_placeholder(b: Builder) -> None:
    """The train label_map_path still holds the model zoo's PATH_TO_BE_CONFIGURED."""
    _plant(b, "path_placeholder",
           _replace(b, str(b.path("label_map.pbtxt")), "PATH_TO_BE_CONFIGURED/label_map.txt"))
