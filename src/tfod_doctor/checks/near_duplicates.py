"""D017: the same photo in both splits, re-encoded, resized or recompressed (``--near-duplicates``).

Each image gets a 256-bit perceptual hash: the image is decoded small (for JPEG, libjpeg's DCT
scaling decodes it at 1/2 to 1/8 of its size, in grayscale; other formats are decoded whole and
then averaged by the same blocks, so that a PNG and its JPEG copy go the same way), shrunk to
64x64, and the signs of its 16x16 lowest 2-D DCT frequencies against their median are the bits
(pHash, Zauner 2010). A 640x480 JPEG takes about 0.7 ms.

Why this hash and the default limit of 32 differing bits (``[thresholds] near-duplicate-bits``):
measured on photo-like pictures (smooth light, shapes, texture; ``testing.images.draw_scene``),

- the same 640x480 photo re-encoded (JPEG quality 95 -> 60), halved, PNG -> JPEG or JPEG -> JPEG
  twice: 0-6 bits apart; 1920x1080 halved at quality 60: 0-10; 128x96 halved at quality 60: up
  to 28 (the smaller the image, the more its copies drift);
- another photo of the same scene (a crop shifted by 10-20%, other lighting): 106 bits or more;
- different photos: 98 or more; the test datasets' flat drawings of a few rectangles: 48 or more
  (most 86 or more).

A difference hash (dHash, 17x16) separated photos as well, but drawings with large flat areas
(whose gradient bits are all 0) came within 6 bits of each other: a flat image says little about
its gradients, while the DCT bits against the median stay balanced (half of them set) whatever
the image. Images under about 100 px on a side are hashed too, but their copies may be missed.

Per split the hashes are kept with where each came from (about 60 bytes per image); at the end
every eval hash is compared with every train hash, in blocks of bounded memory (XOR and
popcount). Pairs of byte-identical images are left to D004.
"""

from __future__ import annotations

import io
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks._od import od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.dataset import LocatedHashes, content_hash
from tfod_doctor.findings import Finding, FindingTally
from tfod_doctor.odapi import features as K
from tfod_doctor.records import FeatureView

if TYPE_CHECKING:
    from PIL import Image

#: The side of the grayscale square the DCT is taken of, and of the block of frequencies kept.
GRID = 64
KEPT = 16
HASH_BITS = KEPT * KEPT
#: JPEGs are decoded at the smallest DCT scale (1/2 to 1/8) that leaves both sides this long.
DRAFT = 32
MIDDLE = (HASH_BITS - 1) // 2
#: 64-bit words per hash.
WORDS = HASH_BITS // 64
#: Pairs compared per block at the end (each takes about 12 bytes while compared; all pairs
#: take about 12 ns each: 10,000 eval images against 100,000 train images in some 12 s).
PAIRS_PER_BLOCK = 1 << 21
SPLITS = ("train", "eval")


def _dct_matrix(size: int, kept: int) -> np.ndarray:
    """The first ``kept`` rows of the orthonormal DCT-II matrix of ``size`` points."""
    k = np.arange(kept)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(GRID, KEPT)


def perceptual_hash(data: bytes) -> bytes | None:
    """The 256-bit perceptual hash of encoded image bytes (32 bytes), ``None`` if Pillow cannot
    decode them (other rules say why)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("L", (DRAFT, DRAFT))  # JPEG: decode scaled down, in grayscale
            gray = _shrink(image.convert("L")).resize((GRID, GRID), Image.Resampling.BOX)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    pixels = np.asarray(gray, dtype=np.float64)
    frequencies = (_DCT @ pixels @ _DCT.T).ravel()
    median = np.partition(frequencies[1:], MIDDLE)[MIDDLE]  # of the 255 besides the mean
    return np.packbits(frequencies > median).tobytes()


def _shrink(gray: Image.Image) -> Image.Image:
    """Block means by 2, 4 or 8 while both sides stay :data:`DRAFT` long: what libjpeg's DCT
    scaling gives a JPEG, done to every image so that a PNG and its JPEG copy hash alike."""
    while True:
        factor = next((f for f in (8, 4, 2) if min(gray.size) // f >= DRAFT), 1)
        if factor == 1:
            return gray
        gray = gray.reduce(factor)


@dataclass
class NearState:
    """The hashes of the train and eval images, with where each came from.

    ``places`` keys each entry by :func:`~tfod_doctor.checks.dataset.content_hash` of its image
    bytes (to tell byte-identical pairs); ``bits`` holds :data:`WORDS` words per entry.
    """

    places: LocatedHashes = field(default_factory=LocatedHashes)
    bits: array = field(default_factory=lambda: array("Q"))


class NearDuplicateAggregator:
    """D017: eval images that are near-copies of train images (only with ``--near-duplicates``)."""

    name = "near_duplicates"

    def new(self) -> NearState:
        return NearState()

    def add(self, state: NearState, view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        if not ctx.near_duplicates or where.role not in SPLITS:
            return
        image = od_record(view).image
        if not image:
            return
        hashed = perceptual_hash(image)
        if hashed is None:
            return
        state.places.add(content_hash(image), where)
        state.bits.frombytes(hashed)

    def merge(self, left: NearState, right: NearState) -> NearState:
        left.places.merge(right.places)
        left.bits.extend(right.bits)
        return left

    def finish(self, state: NearState, ctx: CheckContext
               ) -> tuple[Iterator[Finding | FindingTally], dict]:
        if not ctx.near_duplicates:
            return iter(()), {}
        twins = nearest_twins(state, ctx.quality.near_duplicate_bits)
        return _findings(state, twins, ctx.max_findings_per_rule), {}


@dataclass(frozen=True)
class Twin:
    """An eval entry's nearest train entry within the limit, how far, and how many are within."""

    eval_entry: int
    train_entry: int
    bits: int
    count: int


def nearest_twins(state: NearState, limit: int) -> list[Twin]:
    """For each eval entry, its nearest train entry within ``limit`` differing bits (pairs of
    byte-identical images left out), in entry order."""
    entries = len(state.places.keys)
    if not entries:
        return []
    roles = np.array(state.places.roles_of(range(entries)), dtype=object)
    train = np.flatnonzero(roles == "train")
    evals = np.flatnonzero(roles == "eval")
    if not train.size or not evals.size:
        return []
    hashes = np.frombuffer(state.bits, dtype=np.uint64).reshape(entries, WORDS)
    keys = np.frombuffer(state.places.keys, dtype=np.uint64)
    train_words = np.ascontiguousarray(hashes[train].T)  # word by word: 10x faster than 3-D
    train_keys = keys[train]
    block = max(1, PAIRS_PER_BLOCK // train.size)
    twins: list[Twin] = []
    for start in range(0, evals.size, block):
        chunk = evals[start:start + block]
        distances = np.zeros((chunk.size, train.size), dtype=np.uint16)
        for word in range(WORDS):
            distances += _popcount(hashes[chunk, word, None] ^ train_words[word][None, :])
        distances[keys[chunk][:, None] == train_keys[None, :]] = HASH_BITS + 1  # D004's
        within = distances <= limit
        for row in np.flatnonzero(within.any(axis=1)).tolist():
            nearest = int(np.argmin(distances[row]))
            twins.append(Twin(int(chunk[row]), int(train[nearest]),
                              int(distances[row, nearest]), int(within[row].sum())))
    return twins


def _popcount(words: np.ndarray) -> np.ndarray:
    """The number of set bits of each 64-bit word."""
    if hasattr(np, "bitwise_count"):  # numpy 2
        return np.bitwise_count(words)
    as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.uint8)


_BYTE_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def _findings(state: NearState, twins: list[Twin], cap: int
              ) -> Iterator[Finding | FindingTally]:
    places = state.places
    shown = places.first_by_place([twin.eval_entry for twin in twins], cap)
    for twin in twins:
        if twin.eval_entry not in shown:
            continue
        train = places.location(twin.train_entry)
        others = (f" (and {twin.count - 1} more train image(s) within the limit)"
                  if twin.count > 1 else "")
        yield D.NEAR_DUPLICATE.finding(
            f"this eval image is a copy (re-encoded, resized or recompressed) of the train "
            f"image of {train.file} record {train.record} ({twin.bits} of {HASH_BITS} hash bits "
            f"differ){others}: eval scores it as if it were new",
            places.location(twin.eval_entry, K.IMAGE), train=train.to_dict(), bits=twin.bits,
            hash_bits=HASH_BITS, twins=twin.count)
    hidden = len(twins) - len(shown)
    if hidden:
        yield FindingTally(D.NEAR_DUPLICATE.id, D.NEAR_DUPLICATE.severity, hidden)


aggregator(NearDuplicateAggregator())
