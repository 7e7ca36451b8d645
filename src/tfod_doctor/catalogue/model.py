"""A: the model: what the model builder, the checkpoint restore, the anchors and the train loop
make of the config and the data.

Ids: A001-A019 the model builder and the train loop, A020-A029 the checkpoint, A030-A049 the
anchors, the matcher and what the model can learn from the boxes.
"""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

EXTRACTOR_OTHER_GENERATION = define(Rule(
    id="A001",
    name="extractor-not-in-this-tf",
    severity=Severity.ERROR,
    summary="The feature extractor is not one the model builder of this TensorFlow generation "
            "has: a TF1 config (`ssd_mobilenet_v2`, `faster_rcnn_resnet101`, "
            "`ssd_inception_v2`...) trained with TF2, a `*_keras` one with TF1, or a name no "
            "builder knows.",
    why="`model_builder.py` builds only the Keras extractors under TF2 and only the slim ones "
        "under TF1; any other name stops training before the first step. tfod-doctor assumes "
        "TF2 unless TensorFlow 1.x is installed next to the OD API.",
    fix="Use the extractor the message names (the same network ported, `ssd_mobilenet_v2_keras` "
        "for `ssd_mobilenet_v2`), best by starting from that model's config and checkpoint in "
        "the model zoo of your TF generation: a TF1 checkpoint does not restore into a TF2 "
        "model.",
    example="feature_extractor { type: 'ssd_mobilenet_v2' }   # trained with model_main_tf2.py",
    defect="tf1_feature_extractor",
    tf_message="ValueError: ssd_mobilenet_v2 is not supported for tf version 2. See "
               "`model_builder.py` for features extractors compatible with different versions "
               "of Tensorflow",
))

MASKS_NOT_GIVEN = define(Rule(
    id="A002",
    name="model-needs-masks",
    severity=Severity.ERROR,
    summary="The model learns instance masks (Mask R-CNN `predict_instance_masks`, CenterNet "
            "`mask_estimation_task`, DeepMAC), but the input reader does not load them "
            "(`load_instance_masks`) or the records have no `image/object/mask`.",
    why="Without `load_instance_masks: true` the mask loss has no ground truth and training "
        "stops (`Groundtruth instance masks not provided. Please configure input reader.`); "
        "with the flag but records without masks, the masks are gathered box by box from an "
        "empty list and training stops with `indices[0] = 0 is not in [0, 0)` or an "
        "`assert_equal` on the mask count.",
    fix="Write a mask per box into the records (`image/object/mask`, PNG strings or floats) and "
        "set `load_instance_masks: true` with the matching `mask_type` in both input readers; "
        "or train a box-only model (turn the mask head off).",
    example="mask_rcnn_box_predictor { predict_instance_masks: true }   # reader without "
            "load_instance_masks",
    defect="mask_rcnn_without_masks",
    tf_message="ValueError: Groundtruth instance masks not provided. Please configure input "
               "reader.",
))

KEYPOINTS_NOT_GIVEN = define(Rule(
    id="A003",
    name="model-needs-keypoints",
    severity=Severity.ERROR,
    summary="The model learns keypoints or DensePose (CenterNet `keypoint_estimation_task`, "
            "`densepose_estimation_task`), but the config lacks `keypoint_label_map_path` or the "
            "reader's `num_keypoints` / `load_dense_pose`, or the records have no keypoints.",
    why="The model builder reads the keypoints of each task from `keypoint_label_map_path` (a "
        "missing file stops it; a `keypoint_class_name` that is no item with keypoints there is "
        "a `KeyError`; keypoint ids at or above the readers' `num_keypoints` gather keypoints "
        "the records cannot have); without the reader's `num_keypoints` (or `load_dense_pose`) "
        "the ground truth is never "
        "decoded and the loss stops with `Groundtruth tensor keypoints has not been provided`; "
        "records without `image/object/keypoint/x`/`y` leave nothing to learn from.",
    fix="Set `keypoint_label_map_path` to a label map whose item lists the keypoints, "
        "`num_keypoints: N` in both input readers, and write N keypoints per box into the "
        "records; or drop the keypoint task.",
    example="center_net { keypoint_estimation_task { ... } }   # no num_keypoints in the reader",
    defect="keypoint_task_without_keypoints",
    tf_message="RuntimeError: Groundtruth tensor keypoints has not been provided",
))

MASK_TYPE_MISMATCH = define(Rule(
    id="A004",
    name="mask-type-mismatch",
    severity=Severity.ERROR,
    summary="`mask_type` does not match how the records store `image/object/mask`: PNG strings "
            "(bytes) need `PNG_MASKS`, float lists need `NUMERICAL_MASKS` (the default).",
    why="The decoder parses the key as the mask_type says; the other kind stops parsing with "
        "`Data types don't match` (or, read as numbers, a reshape error).",
    fix="Set `mask_type` in the input readers to what the records hold (the message says "
        "which).",
    example="load_instance_masks: true   # mask_type left at NUMERICAL_MASKS; records hold "
            "PNG masks",
    defect="mask_type_mismatch",
    tf_message="Key: image/object/mask. Data types don't match.",
))

WARMUP_ABOVE_TOTAL = define(Rule(
    id="A005",
    name="warmup-above-total-steps",
    severity=Severity.ERROR,
    summary="`cosine_decay_learning_rate` has `warmup_steps` above `total_steps`.",
    why="TF2 builds the schedule when it builds the optimizer, and "
        "`learning_schedules.cosine_decay_with_warmup` refuses it before the first step.",
    fix="Make `total_steps` at least `warmup_steps` (usually `total_steps` = `num_steps`, with "
        "`warmup_steps` a few percent of it).",
    example="cosine_decay_learning_rate { total_steps: 1000 warmup_steps: 2000 }",
    defect="warmup_above_total_steps",
    tf_message="ValueError: total_steps must be larger or equal to warmup_steps.",
))

SCHEDULE_ENDS_EARLY = define(Rule(
    id="A006",
    name="schedule-ends-before-training",
    severity=Severity.WARNING,
    summary="The cosine schedule's `total_steps` is below `train_config.num_steps`: the "
            "learning rate is 0 for every step after `total_steps`.",
    why="`cosine_decay_with_warmup` returns 0 once the step passes `total_steps`; the "
        "remaining steps run (and cost) without changing the model. Nothing fails, nothing is "
        "lost that was learned, but the time is wasted and the result is what it was at "
        "`total_steps` — so a warning, not data loss.",
    fix="Set `total_steps` to `num_steps` (or `num_steps` to `total_steps`).",
    example="num_steps: 50000 ... cosine_decay_learning_rate { total_steps: 25000 }",
    defect="schedule_shorter_than_training",
))

SCHEDULE_NEVER_DECAYS = define(Rule(
    id="A007",
    name="schedule-never-decays",
    severity=Severity.WARNING,
    summary="The cosine schedule's `total_steps` is far above `train_config.num_steps`: "
            "training stops while the learning rate is still above half its base.",
    why="The schedule is planned for `total_steps`; stopped early, the model never gets the "
        "small learning rates that settle it. Typical after lowering `num_steps` in a "
        "model-zoo config and leaving `total_steps`.",
    fix="Lower `total_steps` to `num_steps` when you shorten training.",
    example="num_steps: 2000 ... cosine_decay_learning_rate { total_steps: 50000 }",
    defect="schedule_longer_than_training",
))

NUM_STEPS_UNSET = define(Rule(
    id="A008",
    name="num-steps-unset",
    severity=Severity.WARNING,
    summary="`train_config.num_steps` is 0 or unset.",
    why="TF2's `model_main_tf2.py` then takes the number of steps from `--num_train_steps` "
        "only; without the flag the train loop has no end step and stops with a TypeError "
        "after the model is built (TF1 trained forever).",
    fix="Set `num_steps` (and the schedule's `total_steps` to the same value).",
    example="train_config { batch_size: 8 }   # no num_steps",
    defect="num_steps_unset",
    tf_message="TypeError: 'NoneType' object cannot be interpreted as an integer",
))

EPOCHS = define(Rule(
    id="A009",
    name="training-epochs",
    severity=Severity.INFO,
    summary="How many times training reads each train record: `num_steps` x `batch_size` / "
            "the records the train split holds.",
    why="Not a defect: the number a user rarely computes. Thousands of epochs on a few dozen "
        "images overfit; a fraction of an epoch never sees part of the data.",
    fix="Choose `num_steps` for the epochs you want: epochs x records / batch_size.",
    example="40 records, batch_size: 64, num_steps: 25000 -> 40,000 epochs",
    defect="many_epochs",
))

BATCH_ABOVE_SPLIT = define(Rule(
    id="A010",
    name="batch-larger-than-split",
    severity=Severity.WARNING,
    summary="`train_config.batch_size` is larger than the number of train records.",
    why="The train reader repeats its records forever, so every batch holds some images more "
        "than once: the batch size buys nothing but memory, and batch norm statistics see "
        "duplicates.",
    fix="Use a batch size at most the number of train records (or add data).",
    example="batch_size: 64   # the train split holds 40 records",
    defect="batch_larger_than_train_split",
))

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

# -- A030-A049: what the model can learn from the boxes (tfod_doctor.model.coverage) ----------

BOXES_NEVER_MATCHED = define(Rule(
    id="A030",
    name="boxes-never-matched",
    severity=Severity.DATA_LOSS,
    summary="Boxes that no anchor matches: after the image_resizer, no anchor reaches the "
            "matcher's matched_threshold with them and nothing forces a match (or their only "
            "forced anchor goes to another box of the same image).",
    why="The matcher turns an anchor into a positive only when its IoU with a box reaches "
        "matched_threshold (or, with force_match_for_each_row, the box's single best anchor). "
        "A box no anchor matches is never a positive: the model gets no loss for it and its "
        "anchors are trained as background. This is the usual answer to 'why does my model "
        "not detect small objects'.",
    fix="Make the boxes and the anchors meet: a larger input size (image_resizer), smaller "
        "anchors (min_scale / scales / anchor_scale, or an FPN extractor with a lower level), "
        "other aspect_ratios for thin boxes, or force_match_for_each_row: true.",
    example="argmax_matcher { matched_threshold: 0.5 force_match_for_each_row: false } with "
            "10-pixel boxes in 1280x720 images resized to 300x300",
    defect="config_anchors_never_match",
))

BOXES_FORCE_MATCHED = define(Rule(
    id="A031",
    name="boxes-force-matched-poorly",
    severity=Severity.WARNING,
    summary="Boxes that only force_match_for_each_row matches: their best anchor's IoU is "
            "under matched_threshold after the image_resizer.",
    why="Such a box gets exactly one positive anchor, chosen by force, whose shape is far from "
        "the box: few positives and large regression targets, so the model learns these "
        "boxes slowly and detects them poorly.",
    fix="A larger input size (image_resizer), smaller anchors (min_scale / scales / "
        "anchor_scale, or an FPN extractor with a lower level), or aspect_ratios that fit "
        "the boxes.",
    example="ssd_anchor_generator { min_scale: 0.2 } with 12-pixel boxes in 300x300 inputs",
    defect="config_anchors_too_large",
))

BOXES_UNDER_STRIDE = define(Rule(
    id="A032",
    name="boxes-under-output-stride",
    severity=Severity.WARNING,
    summary="CenterNet: boxes under two cells of the output stride (8 pixels at stride 4) on "
            "a side after the image_resizer.",
    why="CenterNet predicts one centre per output cell (stride 4): boxes this small share a "
        "cell with their neighbours, their centre heatmap is a single cell and their size is "
        "regressed from a cell that sees little of them.",
    fix="A larger input size (image_resizer), or crop / tile large images so the objects keep "
        "more pixels.",
    example="keep_aspect_ratio_resizer { min_dimension: 512 max_dimension: 512 } with 10-pixel "
            "boxes in 4000x3000 images",
    defect="config_center_net_tiny_boxes",
))
