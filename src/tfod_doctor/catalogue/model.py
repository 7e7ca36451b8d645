"""A: the model: what the model builder, the checkpoint restore, the anchors and the train loop
make of the config and the data.

Ids: A001-A019 the model builder and the train loop, A020-A029 the checkpoint, A030-A049 the
anchors, the matcher and what the model can learn from the boxes.
"""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

# -- A020-A029: the checkpoint (tfod_doctor.model.checkpoint) ----------------------------------

_NOT_BOUND = ("AssertionError: Found 263 Python objects that were not bound to checkpointed "
              "values, likely due to changes in the Python program.")

CHECKPOINT_KIND = define(Rule(
    id="A020",
    name="checkpoint-kind-mismatch",
    severity=Severity.ERROR,
    summary="The checkpoint's kind (detection or classification) does not fit "
            "`fine_tune_checkpoint_type` (unset means `classification`, or `detection` with the "
            "old `from_detection_checkpoint: true`).",
    why="TF2 training restores `feature_extractor` from a `classification` checkpoint and "
        "`model/_feature_extractor` from a `detection` one. A model-zoo download "
        "(`checkpoint/ckpt-0`) is a detection checkpoint, but the zoo's own configs say "
        "`classification` (they were trained from ImageNet backbones): the restore finds nothing "
        "it looks for and stops with `Found N Python objects that were not bound to "
        "checkpointed values`, naming neither the checkpoint's kind nor the config line.",
    fix="Set `fine_tune_checkpoint_type: \"detection\"` for a detection checkpoint (a model-zoo "
        "download), `\"classification\"` for an ImageNet backbone checkpoint.",
    example="fine_tune_checkpoint: \"ssd_mobilenet_v2/checkpoint/ckpt-0\"\n"
            "fine_tune_checkpoint_type: \"classification\"   # as in the zoo's config",
    defect="checkpoint_type_classification",
    tf_message=_NOT_BOUND,
))

CHECKPOINT_ARCHITECTURE = define(Rule(
    id="A021",
    name="checkpoint-architecture-mismatch",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint` is a checkpoint of another architecture: another "
            "meta-architecture (SSD, Faster R-CNN, CenterNet) or another backbone (e.g. ResNet-50 "
            "for a MobileNetV2 config).",
    why="The restore matches the checkpoint's objects to the model's by name and shape. With "
        "another model's checkpoint it stops with `Received incompatible tensor with shape` or "
        "`Found N Python objects that were not bound to checkpointed values` -- after part of "
        "the checkpoint has already been written into the model.",
    fix="Point fine_tune_checkpoint at a checkpoint of the model the config builds (download the "
        "zoo model with the same feature extractor), or start from the pipeline.config that "
        "came with the checkpoint.",
    example="feature_extractor { type: \"ssd_mobilenet_v2_fpn_keras\" }\n"
            "fine_tune_checkpoint: \"ssd_resnet50_v1_fpn_640x640/checkpoint/ckpt-0\"",
    defect="checkpoint_other_architecture",
    tf_message="ValueError: Received incompatible tensor with shape [1, 1, 256, 24] when "
               "attempting to restore variable with shape [3, 3, 128, 24]",
))

CHECKPOINT_TYPE_REFUSED = define(Rule(
    id="A022",
    name="checkpoint-type-refused",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint_type` is one the model cannot restore: `classification` (also "
            "when unset) for a CenterNet Hourglass feature extractor, which has no "
            "classification backbone.",
    why="`restore_from_objects('classification')` asks the feature extractor for its "
        "classification backbone; CenterNet's Hourglass extractors raise instead, and training "
        "stops before the first step.",
    fix="Set `fine_tune_checkpoint_type: \"detection\"` and use a CenterNet Hourglass checkpoint "
        "from the model zoo.",
    example="center_net { feature_extractor { type: \"hourglass_104\" } }\n"
            "fine_tune_checkpoint_type: \"classification\"",
    defect="checkpoint_type_refused",
    tf_message="NotImplementedError: Classification backbone not supported for <class "
               "'object_detection.models.center_net_hourglass_feature_extractor."
               "CenterNetHourglassFeatureExtractor'>",
))

CHECKPOINT_TF1 = define(Rule(
    id="A023",
    name="checkpoint-tf1",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint` is a TF1 (name-based) checkpoint, such as a TF1 model-zoo "
            "`model.ckpt`: it has no object graph.",
    why="TF2 training (`model_main_tf2.py`) restores only object-based checkpoints written by "
        "`tf.train.Checkpoint` and stops with `Checkpoint is expected to be an object-based "
        "checkpoint` (TF1 variable names such as `FeatureExtractor/MobilenetV2/...` mean nothing "
        "to a Keras model).",
    fix="Download the model from the TF2 model zoo (its `checkpoint/ckpt-0`), or train with the "
        "TF1 `model_main.py` the checkpoint was made for.",
    example="fine_tune_checkpoint: \"ssd_mobilenet_v2_coco_2018_03_29/model.ckpt\"",
    defect="checkpoint_tf1",
    tf_message="OSError: Checkpoint is expected to be an object-based checkpoint.",
))

CHECKPOINT_FULL_CLASSES = define(Rule(
    id="A024",
    name="checkpoint-full-other-classes",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint_type: \"full\"` restores the box predictor too, but the "
            "checkpoint's class layer was made for another number of classes (a model-zoo "
            "checkpoint: 90 COCO classes).",
    why="`full` restores the whole model, class layer included; its kernel's shape follows "
        "num_classes, so the restore stops with `Received incompatible tensor with shape`. "
        "`detection` restores everything but the box predictor, which is what fine-tuning on "
        "other classes needs.",
    fix="Set `fine_tune_checkpoint_type: \"detection\"`.",
    example="num_classes: 3\nfine_tune_checkpoint: \"ssd_mobilenet_v2/checkpoint/ckpt-0\"   # 90 "
            "classes\nfine_tune_checkpoint_type: \"full\"",
    defect="checkpoint_full_other_classes",
    tf_message="ValueError: Received incompatible tensor with shape [3, 3, 128, 546] when "
               "attempting to restore variable with shape [3, 3, 128, 24]",
))
