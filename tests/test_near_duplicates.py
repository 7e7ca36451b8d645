"""D017: the same photo in train and eval, re-encoded, resized or recompressed, is found with
``--near-duplicates``; other photos of the same scene, clean datasets and byte-identical copies
(D004's) are not reported, and without the switch nothing is hashed at all."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from chromium import find_chromium, visit
from PIL import Image

from tfod_doctor import api
from tfod_doctor import report as reports
from tfod_doctor.checks.near_duplicates import HASH_BITS, perceptual_hash
from tfod_doctor.cli import main
from tfod_doctor.cli.demo import DEMO_DEFECTS
from tfod_doctor.engine import execute
from tfod_doctor.records import encode_example, frame
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.images import draw_scene, encode_image, take_photo
from tfod_doctor.testing.samples import Box, Sample

#: A photo's part of its 800x600 scene: 640x480 from (40, 40).
SCENE = (800, 600)
FRAME = (40, 40, 680, 520)
LIMIT = api.context().quality.near_duplicate_bits


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    return encode_image(image.convert("RGB"), "jpeg", quality=quality)


@pytest.fixture(scope="module")
def scenes() -> list[Image.Image]:
    return [draw_scene(*SCENE, seed=seed) for seed in range(5)]


@pytest.fixture(scope="module")
def photos(scenes) -> list[Image.Image]:
    """One photo of each scene."""
    return [take_photo(scene, FRAME, seed=seed) for seed, scene in enumerate(scenes)]


def write_records(path: Path, images: list[bytes]) -> Path:
    """A record file of one record per image (one box each), as a creation script writes it."""
    payloads = []
    for index, data in enumerate(images):
        with _open(data) as image:
            width, height, fmt = image.width, image.height, image.format.lower()
        sample = Sample(data, width, height, fmt, f"{path.stem}-{index}.{fmt}",
                        f"{path.stem}-{index}", [Box(0.2, 0.2, 0.6, 0.7, 1, "cat")])
        payloads.append(encode_example(sample.features()))
    path.write_bytes(b"".join(frame(payload) for payload in payloads))
    return path


def _splits(tmp_path: Path, train: list[bytes], evals: list[bytes]) -> tuple[Path, Path]:
    return (write_records(tmp_path / "train.tfrecord", train),
            write_records(tmp_path / "eval.tfrecord", evals))


#: How a copy of a photo is made: (the train image's bytes, the eval copy's bytes).
COPIES: dict[str, Callable[[Image.Image], tuple[bytes, bytes]]] = {
    "reencoded_q95_to_q60": lambda photo: (_jpeg(photo, 95), _jpeg(_open(_jpeg(photo, 95)), 60)),
    "resized_to_half": lambda photo: (_jpeg(photo, 95), _jpeg(photo.resize((320, 240)), 85)),
    "png_to_jpeg": lambda photo: (encode_image(photo, "png"),
                                  _jpeg(_open(encode_image(photo, "png")), 75)),
    "jpeg_to_jpeg_twice": lambda photo: (_jpeg(photo, 95),
                                         _jpeg(_open(_jpeg(_open(_jpeg(photo, 95)), 80)), 70)),
}


@pytest.mark.parametrize("kind", COPIES)
def test_a_copy_in_eval_is_found_at_the_eval_record_naming_the_train_record(kind, photos,
                                                                            tmp_path):
    original, copy = COPIES[kind](photos[3])
    others = [_jpeg(photo, 90) for photo in photos]
    train, evals = _splits(tmp_path, [*others[:3], original], [others[4], copy])
    report = api.scan([train], eval_inputs=[evals], near_duplicates=True)
    found = report.by_rule("D017")
    assert [(f.location.file, f.location.record) for f in found] == [(str(evals), 1)]
    evidence = found[0].evidence
    assert (evidence["train"]["file"], evidence["train"]["record"]) == (str(train), 3)
    assert 0 <= evidence["bits"] <= LIMIT and evidence["hash_bits"] == HASH_BITS
    assert f"{train} record 3" in found[0].message
    assert report.by_rule("D004") == []


def test_other_photos_of_the_same_scene_are_not_copies(scenes, photos, tmp_path):
    # Shifted by 10-19% of the frame, under other light, with their own sensor noise.
    views = [((64, 0), (1.1, -0.3, 0.1)), ((0, 72), (0.8, 0.4, -0.1)),
             ((120, 0), (0.9, 0.0, 0.3)), ((64, 48), (1.2, -0.2, -0.2))]
    evals = []
    for number, (scene, ((dx, dy), light)) in enumerate(zip(scenes, views, strict=False)):
        left, top, right, bottom = FRAME
        shot = take_photo(scene, (left + dx, top + dy, right + dx, bottom + dy), light,
                          seed=100 + number)
        evals.append(_jpeg(shot, 90))
    train, evals_file = _splits(tmp_path, [_jpeg(photo, 95) for photo in photos[:4]], evals)
    report = api.scan([train], eval_inputs=[evals_file], near_duplicates=True)
    assert report.by_rule("D017") == []


def test_byte_identical_copies_are_left_to_d004(photos, tmp_path):
    same = _jpeg(photos[0], 90)
    train, evals = _splits(tmp_path, [same, _jpeg(photos[1], 90)], [same])
    report = api.scan([train], eval_inputs=[evals], near_duplicates=True)
    assert [f.location.record for f in report.by_rule("D004")] == [0]
    assert report.by_rule("D017") == []


def test_nothing_is_hashed_without_the_switch(photos, tmp_path, monkeypatch):
    original, copy = COPIES["resized_to_half"](photos[0])
    train, evals = _splits(tmp_path, [original], [copy])
    hashed: list[bytes] = []
    from tfod_doctor.checks import near_duplicates

    monkeypatch.setattr(near_duplicates, "perceptual_hash",
                        lambda data: hashed.append(data) or perceptual_hash(data))
    assert api.scan([train], eval_inputs=[evals], workers=1).by_rule("D017") == []
    # --deep decodes every image, and hashes none (that would make it half as fast).
    assert api.scan([train], eval_inputs=[evals], deep=True, workers=1).by_rule("D017") == []
    assert hashed == []
    assert api.scan([train], eval_inputs=[evals], near_duplicates=True, workers=1).by_rule(
        "D017")
    assert len(hashed) == 2


def run_cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return exited.value.code, capsys.readouterr().out


def test_cli_scan_and_check_with_near_duplicates(photos, tmp_path, capsys):
    dataset = make_dataset(tmp_path / "ds", ["near_duplicate_across_splits"])
    config = str(dataset.config_path)
    code, out = run_cli(capsys, "check", config, "--fail-on", "warning", "--format", "json")
    assert "D017" not in json.loads(out)["rule_counts"]
    code, out = run_cli(capsys, "check", config, "--near-duplicates", "--fail-on", "warning",
                        "--format", "json")
    assert code == 1 and json.loads(out)["rule_counts"]["D017"] == 1
    train = [str(p) for p in dataset.train_files]
    evals = [arg for path in dataset.eval_files for arg in ("--eval", str(path))]
    code, out = run_cli(capsys, "scan", *train, *evals, "--near-duplicates", "--format", "json")
    planted = dataset.planted_for("near_duplicate_across_splits")[0]
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "D017"]
    assert [(f["location"]["file"], f["location"]["record"]) for f in found] == [
        (planted.file, planted.record)]


def test_quiet_on_clean_datasets(tmp_path):
    varied = make_dataset(tmp_path / "varied", varied=True, n_train=80, n_eval=30,
                          negative_rate=0.2)
    assert api.check(varied.config_path, near_duplicates=True).by_rule("D017") == []
    for name, defects in (("clean", []), ("broken", DEMO_DEFECTS)):
        demo = make_dataset(tmp_path / name, defects, varied=True, n_train=24, n_eval=8)
        assert api.check(demo.config_path, near_duplicates=True).by_rule("D017") == []


@pytest.fixture
def leaky(photos, tmp_path) -> tuple[Path, Path]:
    """Three eval copies of train photos (one of each kind), among other photos."""
    train, evals = [], []
    for photo, kind in zip(photos, ["reencoded_q95_to_q60", "resized_to_half", "png_to_jpeg"],
                           strict=False):
        original, copy = COPIES[kind](photo)
        train.append(original)
        evals.append(copy)
    evals.insert(1, _jpeg(photos[4], 90))
    return _splits(tmp_path, [*train, _jpeg(photos[3], 90)], evals)


def test_same_findings_with_one_and_two_workers(leaky):
    plan, ctx = api.scan_plan_and_context([leaky[0]], eval_inputs=[leaky[1]],
                                          near_duplicates=True)
    alone = execute(plan, ctx, workers=1)
    split = execute(plan, ctx, workers=2, split_bytes=20_000)
    assert [f.location.record for f in alone.by_rule("D017")] == [0, 2, 3]
    assert ([f.to_dict() for f in split.by_rule("D017")]
            == [f.to_dict() for f in alone.by_rule("D017")])


def test_same_findings_on_beam(leaky):
    pytest.importorskip("apache_beam", reason="Apache Beam is not installed: pip install -e "
                        "'.[test]'")
    plan, ctx = api.scan_plan_and_context([leaky[0]], eval_inputs=[leaky[1]],
                                          near_duplicates=True)
    local = execute(plan, ctx, workers=1)
    on_beam = execute(plan, ctx, runner="beam", beam_options="--runner=FnApiRunner",
                      split_bytes=50_000)
    assert ([f.to_dict() for f in on_beam.by_rule("D017")]
            == [f.to_dict() for f in local.by_rule("D017")] != [])


def test_findings_past_the_cap_are_counted(leaky):
    plan, ctx = api.scan_plan_and_context([leaky[0]], eval_inputs=[leaky[1]],
                                          near_duplicates=True)
    report = execute(plan, dataclasses.replace(ctx, max_findings_per_rule=1))
    assert report.rule_counts["D017"] == 3
    assert [f.location.record for f in report.by_rule("D017")] == [0]


def test_the_limit_comes_from_the_project_file(leaky, tmp_path):
    # At the hash's full length every eval image is "near" some train image.
    (tmp_path / "tfod-doctor.toml").write_text(
        f"[thresholds]\nnear-duplicate-bits = {HASH_BITS}\n")
    report = api.scan([leaky[0]], eval_inputs=[leaky[1]], near_duplicates=True,
                      project=api.project_settings(tmp_path))
    assert [f.location.record for f in report.by_rule("D017")] == [0, 1, 2, 3]
    assert max(f.evidence["bits"] for f in report.by_rule("D017")) > LIMIT


def test_undecodable_images_are_skipped(photos, tmp_path):
    original, copy = COPIES["reencoded_q95_to_q60"](photos[0])
    train, evals = _splits(tmp_path, [original], [copy])
    assert perceptual_hash(b"\xff\xd8 not a jpeg") is None
    broken = write_records(tmp_path / "broken.tfrecord", [copy])
    payload = broken.read_bytes().replace(copy[200:400], b"\0" * 200)
    broken.write_bytes(payload)
    report = api.scan([train], eval_inputs=[evals, broken], near_duplicates=True)
    assert [f.location.file for f in report.by_rule("D017")] == [str(evals)]


def _d017_article(page: str) -> str:
    start = page.index('id="rule-D017"')
    return page[start:page.index("</article>", start)]


def test_html_shows_each_eval_copy_beside_its_train_photo(leaky, tmp_path):
    train, evals = leaky
    report = api.scan([train], eval_inputs=[evals], near_duplicates=True)
    page = reports.render(report, "html")
    article = _d017_article(page)
    assert article.count("class=pair") == 3
    for record in (0, 2, 3):
        assert f'alt="{evals} record {record}"' in article
    for record in (0, 1, 2):
        assert f'alt="{train} record {record}"' in article
    bits = [f.evidence["bits"] for f in report.by_rule("D017")]
    for value in bits:
        assert f"{value} of {HASH_BITS} hash bits differ" in article
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): the page was not "
                    "opened in a browser")
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    seen = visit(chromium, path, tmp_path / "profile")
    assert seen.console_errors == [] and seen.outside_requests == []
    pictures = [image for image in seen.images if image["complete"] and image["width"] > 0]
    assert len(pictures) == len(seen.images) and len(pictures) >= 6


def test_same_findings_with_numpy_1_popcount(leaky, monkeypatch):
    with_numpy_2 = api.scan([leaky[0]], eval_inputs=[leaky[1]], near_duplicates=True,
                            workers=1)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    with_table = api.scan([leaky[0]], eval_inputs=[leaky[1]], near_duplicates=True, workers=1)
    assert ([f.to_dict() for f in with_table.by_rule("D017")]
            == [f.to_dict() for f in with_numpy_2.by_rule("D017")] != [])
