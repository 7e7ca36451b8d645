"""pipeline.config and label_map.pbtxt text for test datasets, written as people write them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LabelItem:
    """One ``item { }`` of a label map."""

    name: str
    id: int | None
    display_name: str | None = None


def label_map_text(items: Sequence[LabelItem]) -> str:
    """A label map as the OD API tutorials write it."""
    blocks = []
    for item in items:
        lines = ["item {"]
        if item.id is not None:
            lines.append(f"  id: {item.id}")
        lines.append(f"  name: '{item.name}'")
        if item.display_name is not None:
            lines.append(f"  display_name: '{item.display_name}'")
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass
class ConfigSpec:
    """What varies in a generated pipeline.config."""

    num_classes: int
    label_map_path: str
    train_input_paths: list[str]
    eval_input_paths: list[str]
    checkpoint: str
    arch: str = "ssd"
    batch_size: int = 4
    max_boxes: int | None = None
    extra_train_reader: list[str] = field(default_factory=list)
    #: Whether the input readers set ``label_map_path`` (class/text is only read when they do).
    label_map_in_reader: bool = True


def _reader(name: str, paths: Sequence[str], label_map: str | None, extra: Sequence[str],
            max_boxes: int | None, eval_reader: bool) -> str:
    lines = [f"{name} {{"]
    if label_map is not None:
        lines.append(f'  label_map_path: "{label_map}"')
    if eval_reader:
        lines += ["  shuffle: false", "  num_epochs: 1"]
    if max_boxes is not None:
        lines.append(f"  max_number_of_boxes: {max_boxes}")
    lines += [f"  {line}" for line in extra]
    lines.append("  tf_record_input_reader {")
    lines += [f'    input_path: "{path}"' for path in paths]
    lines += ["  }", "}"]
    return "\n".join(lines)


_SSD_MODEL = """\
model {
  ssd {
    num_classes: %(num_classes)d
    image_resizer {
      fixed_shape_resizer {
        height: 320
        width: 320
      }
    }
    feature_extractor {
      type: "ssd_mobilenet_v2_fpn_keras"
      depth_multiplier: 1.0
      min_depth: 16
      conv_hyperparams {
        regularizer {
          l2_regularizer {
            weight: 3.9999998989515007e-05
          }
        }
        initializer {
          random_normal_initializer {
            mean: 0.0
            stddev: 0.009999999776482582
          }
        }
        activation: RELU_6
        batch_norm {
          decay: 0.996999979019165
          scale: true
          epsilon: 0.0010000000474974513
        }
      }
      use_depthwise: true
      override_base_feature_extractor_hyperparams: true
      fpn {
        min_level: 3
        max_level: 7
        additional_layer_depth: 128
      }
    }
    box_coder {
      faster_rcnn_box_coder {
        y_scale: 10.0
        x_scale: 10.0
        height_scale: 5.0
        width_scale: 5.0
      }
    }
    matcher {
      argmax_matcher {
        matched_threshold: 0.5
        unmatched_threshold: 0.5
        ignore_thresholds: false
        negatives_lower_than_unmatched: true
        force_match_for_each_row: true
        use_matmul_gather: true
      }
    }
    similarity_calculator {
      iou_similarity {
      }
    }
    box_predictor {
      weight_shared_convolutional_box_predictor {
        conv_hyperparams {
          regularizer {
            l2_regularizer {
              weight: 3.9999998989515007e-05
            }
          }
          initializer {
            random_normal_initializer {
              mean: 0.0
              stddev: 0.009999999776482582
            }
          }
          activation: RELU_6
          batch_norm {
            decay: 0.996999979019165
            scale: true
            epsilon: 0.0010000000474974513
          }
        }
        depth: 128
        num_layers_before_predictor: 4
        kernel_size: 3
        class_prediction_bias_init: -4.599999904632568
        share_prediction_tower: true
        use_depthwise: true
      }
    }
    anchor_generator {
      multiscale_anchor_generator {
        min_level: 3
        max_level: 7
        anchor_scale: 4.0
        aspect_ratios: 1.0
        aspect_ratios: 2.0
        aspect_ratios: 0.5
        scales_per_octave: 2
      }
    }
    post_processing {
      batch_non_max_suppression {
        score_threshold: 9.99999993922529e-09
        iou_threshold: 0.6000000238418579
        max_detections_per_class: 100
        max_total_detections: 100
        use_static_shapes: false
      }
      score_converter: SIGMOID
    }
    normalize_loss_by_num_matches: true
    loss {
      localization_loss {
        weighted_smooth_l1 {
        }
      }
      classification_loss {
        weighted_sigmoid_focal {
          gamma: 2.0
          alpha: 0.25
        }
      }
      classification_weight: 1.0
      localization_weight: 1.0
    }
    encode_background_as_zeros: true
    normalize_loc_loss_by_codesize: true
    inplace_batchnorm_update: true
    freeze_batchnorm: false
  }
}
"""

_TRAIN_CONFIG = """\
train_config {
  batch_size: %(batch_size)d
  data_augmentation_options {
    random_horizontal_flip {
    }
  }
  data_augmentation_options {
    random_crop_image {
      min_object_covered: 0.0
      min_aspect_ratio: 0.75
      max_aspect_ratio: 3.0
      min_area: 0.75
      max_area: 1.0
      overlap_thresh: 0.0
    }
  }
  sync_replicas: true
  optimizer {
    momentum_optimizer {
      learning_rate {
        cosine_decay_learning_rate {
          learning_rate_base: 0.07999999821186066
          total_steps: 1000
          warmup_learning_rate: 0.026666000485420227
          warmup_steps: 100
        }
      }
      momentum_optimizer_value: 0.8999999761581421
    }
    use_moving_average: false
  }
  fine_tune_checkpoint: "%(checkpoint)s"
  num_steps: 1000
  startup_delay_steps: 0.0
  replicas_to_aggregate: 8
  max_number_of_boxes: 100
  unpad_groundtruth_tensors: false
  fine_tune_checkpoint_type: "detection"
  fine_tune_checkpoint_version: V2
}
"""

_EVAL_CONFIG = """\
eval_config {
  metrics_set: "coco_detection_metrics"
  use_moving_averages: false
}
"""

_FASTER_RCNN_MODEL = """\
model {
  faster_rcnn {
    num_classes: %(num_classes)d
    image_resizer {
      keep_aspect_ratio_resizer {
        min_dimension: 640
        max_dimension: 640
        pad_to_max_dimension: true
      }
    }
    feature_extractor {
      type: 'faster_rcnn_resnet50_keras'
      batch_norm_trainable: true
    }
    first_stage_anchor_generator {
      grid_anchor_generator {
        scales: [0.25, 0.5, 1.0, 2.0]
        aspect_ratios: [0.5, 1.0, 2.0]
        height_stride: 16
        width_stride: 16
      }
    }
    first_stage_box_predictor_conv_hyperparams {
      op: CONV
      regularizer {
        l2_regularizer {
          weight: 0.0
        }
      }
      initializer {
        truncated_normal_initializer {
          stddev: 0.01
        }
      }
    }
    first_stage_nms_score_threshold: 0.0
    first_stage_nms_iou_threshold: 0.7
    first_stage_max_proposals: 300
    first_stage_localization_loss_weight: 2.0
    first_stage_objectness_loss_weight: 1.0
    initial_crop_size: 14
    maxpool_kernel_size: 2
    maxpool_stride: 2
    second_stage_box_predictor {
      mask_rcnn_box_predictor {
        use_dropout: false
        dropout_keep_probability: 1.0
        fc_hyperparams {
          op: FC
          regularizer {
            l2_regularizer {
              weight: 0.0
            }
          }
          initializer {
            variance_scaling_initializer {
              factor: 1.0
              uniform: true
              mode: FAN_AVG
            }
          }
        }
        share_box_across_classes: true
      }
    }
    second_stage_post_processing {
      batch_non_max_suppression {
        score_threshold: 0.0
        iou_threshold: 0.6
        max_detections_per_class: 100
        max_total_detections: 300
      }
      score_converter: SOFTMAX
    }
    second_stage_localization_loss_weight: 2.0
    second_stage_classification_loss_weight: 1.0
    use_static_shapes: true
    use_matmul_crop_and_resize: true
    clip_anchors_to_image: true
    use_static_balanced_label_sampler: true
    use_matmul_gather_in_matcher: true
  }
}

"""

_CENTER_NET_MODEL = """\
model {
  center_net {
    num_classes: %(num_classes)d
    feature_extractor {
      type: "resnet_v1_50_fpn"
    }
    image_resizer {
      keep_aspect_ratio_resizer {
        min_dimension: 512
        max_dimension: 512
        pad_to_max_dimension: true
      }
    }
    object_detection_task {
      task_loss_weight: 1.0
      offset_loss_weight: 1.0
      scale_loss_weight: 0.1
      localization_loss {
        l1_localization_loss {
        }
      }
    }
    object_center_params {
      object_center_loss_weight: 1.0
      min_box_overlap_iou: 0.7
      max_box_predictions: 100
      classification_loss {
        penalty_reduced_logistic_focal_loss {
          alpha: 2.0
          beta: 4.0
        }
      }
    }
  }
}

"""

MODELS = {"ssd": _SSD_MODEL, "faster_rcnn": _FASTER_RCNN_MODEL, "center_net": _CENTER_NET_MODEL}


def pipeline_config_text(spec: ConfigSpec) -> str:
    """A pipeline.config in the style of the TF2 model zoo's configs."""
    values = {"num_classes": spec.num_classes, "batch_size": spec.batch_size,
              "checkpoint": spec.checkpoint}
    reader_label_map = spec.label_map_path if spec.label_map_in_reader else None
    parts = [
        MODELS[spec.arch] % values,
        _TRAIN_CONFIG % values,
        _reader("train_input_reader", spec.train_input_paths, reader_label_map,
                spec.extra_train_reader, spec.max_boxes, eval_reader=False) + "\n",
        _EVAL_CONFIG,
        _reader("eval_input_reader", spec.eval_input_paths, reader_label_map, (),
                spec.max_boxes, eval_reader=True) + "\n",
    ]
    return "".join(parts)
