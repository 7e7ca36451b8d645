"""What the train loop makes of ``train_config``: steps, batch size and the learning-rate
schedule, as plain data; and the findings that need only the config (A005-A008).

Facts from the OD API: ``model_lib_v2.train_loop`` takes ``num_steps`` unless
``--num_train_steps`` is given (0 means "not set"); ``learning_schedules.cosine_decay_with_warmup``
refuses ``warmup_steps > total_steps`` and returns 0 after ``total_steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tfod_doctor.catalogue import model as A
from tfod_doctor.config.pipeline import PipelineConfig
from tfod_doctor.config.textproto import Pos
from tfod_doctor.config.validate import Node
from tfod_doctor.findings import Finding

#: The cosine schedule "never decays" when training stops above this share of its base rate.
UNDECAYED_SHARE = 0.5


@dataclass(frozen=True)
class Cosine:
    """A ``cosine_decay_learning_rate`` block, with its defaults filled in."""

    base: float
    total_steps: int
    warmup_steps: int
    hold_steps: int
    node: Node

    def rate(self, step: int) -> float:
        """The learning rate at ``step`` after warm-up, as ``cosine_decay_with_warmup`` has it
        (as a share of ``base`` when ``base`` is 1)."""
        if step > self.total_steps:
            return 0.0
        if step <= self.warmup_steps + self.hold_steps:
            return self.base
        span = self.total_steps - self.warmup_steps - self.hold_steps
        done = (step - self.warmup_steps - self.hold_steps) / span
        return 0.5 * self.base * (1 + math.cos(math.pi * done))


@dataclass(frozen=True)
class Training:
    """How long and in what batches training runs."""

    num_steps: int
    batch_size: int
    schedule: Cosine | None
    node: Node

    def to_dict(self) -> dict[str, Any]:
        """The JSON form in the report's ``stats["model"]["training"]``."""
        out: dict[str, Any] = {"num_steps": self.num_steps, "batch_size": self.batch_size}
        if self.schedule is not None:
            out["schedule"] = {"kind": "cosine_decay_learning_rate",
                               "total_steps": self.schedule.total_steps,
                               "warmup_steps": self.schedule.warmup_steps}
        return out


def training(config: PipelineConfig) -> Training | None:
    """The train loop's settings (``None`` without a ``train_config``)."""
    train = config.train_config
    if train is None:
        return None
    return Training(train.get("num_steps"), train.get("batch_size"), _cosine(train), train)


def _cosine(train: Node) -> Cosine | None:
    optimizer = train.node("optimizer")
    kind = optimizer.which("optimizer") if optimizer is not None else None
    chosen = optimizer.node(kind) if optimizer is not None and kind else None
    rate = chosen.node("learning_rate") if chosen is not None else None
    cosine = rate.node("cosine_decay_learning_rate") if rate is not None else None
    if cosine is None:
        return None
    return Cosine(cosine.get("learning_rate_base"), cosine.get("total_steps"),
                  cosine.get("warmup_steps"), cosine.get("hold_base_rate_steps"), cosine)


def training_findings(config: PipelineConfig, run: Training | None) -> list[Finding]:
    """A005-A008: what the train loop does with the steps and the schedule."""
    if run is None:
        return []
    findings = []
    if run.num_steps <= 0:
        findings.append(config.finding(
            A.NUM_STEPS_UNSET, f"train_config.num_steps is {run.num_steps}"
            + ("" if run.node.has("num_steps") else " (unset)") + ": model_main_tf2.py then "
            "needs --num_train_steps, or its train loop stops with a TypeError",
            _where(run.node, "num_steps"), "set num_steps: N (and the schedule's total_steps "
            "to the same N)", tensorflow=A.NUM_STEPS_UNSET.tf_message))
    cosine = run.schedule
    if cosine is None:
        return findings
    if cosine.warmup_steps > cosine.total_steps:
        findings.append(config.finding(
            A.WARMUP_ABOVE_TOTAL, f"cosine_decay_learning_rate has warmup_steps "
            f"{cosine.warmup_steps} above total_steps {cosine.total_steps}: TF2 refuses to "
            "build the optimizer", _where(cosine.node, "warmup_steps"),
            f"make total_steps at least {cosine.warmup_steps} (usually total_steps = num_steps)",
            tensorflow=A.WARMUP_ABOVE_TOTAL.tf_message, warmup_steps=cosine.warmup_steps,
            total_steps=cosine.total_steps))
        return findings
    if run.num_steps > 0:
        findings += _schedule_length(config, run, cosine)
    return findings


def _schedule_length(config: PipelineConfig, run: Training, cosine: Cosine) -> list[Finding]:
    steps, total = run.num_steps, cosine.total_steps
    where = _where(cosine.node, "total_steps")
    if total < steps:
        wasted = steps - total
        return [config.finding(
            A.SCHEDULE_ENDS_EARLY, f"cosine_decay_learning_rate total_steps is {total} but "
            f"num_steps is {steps}: the learning rate is 0 for the last {wasted} steps "
            f"({wasted / steps:.0%} of training)", where, f"set total_steps: {steps}",
            total_steps=total, num_steps=steps, wasted_steps=wasted)]
    share = Cosine(1.0, total, cosine.warmup_steps, cosine.hold_steps, cosine.node).rate(steps)
    if share > UNDECAYED_SHARE:
        return [config.finding(
            A.SCHEDULE_NEVER_DECAYS, f"cosine_decay_learning_rate total_steps is {total} but "
            f"training stops at num_steps {steps}: the learning rate is still {share:.0%} of "
            "its base at the end", where, f"set total_steps: {steps}", total_steps=total,
            num_steps=steps, final_share=round(share, 3))]
    return []


def _where(node: Node, name: str) -> Pos:
    return node.value_pos(name) if node.has(name) else node.pos
