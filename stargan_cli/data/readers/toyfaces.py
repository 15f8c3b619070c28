"""toyfaces: a procedural renderer of small cartoon faces, deterministic from (seed, split, index).

Two styles stand in for the paper's two datasets:
- "celeba": multi-label attributes Black_Hair / Blond_Hair / Brown_Hair (exclusive), Male (beard and
  moustache), Young (no wrinkles); varied position, scale, skin tone, hair style, clothes and background.
- "rafd": single-label expressions (mouth and eyebrow shapes) in the reference's class order, with a
  studio framing (large centred face, plain light background, dark clothes): a real domain gap.

Because a face is rendered from its parameters, the exact counterfactual (the same face with one
attribute changed) is `render(with_labels(params, style, labels))`: ground truth for evaluation.
Faces are drawn with PIL at 4x the output size and box-filtered down (anti-aliasing).
"""

from __future__ import annotations

import colorsys
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ...console import info
from ...labels import DatasetLabels

CELEBA_ATTRIBUTES = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
HAIR = CELEBA_ATTRIBUTES[:3]
EXPRESSIONS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
STYLES = {
    "celeba": DatasetLabels("toy-celeba", CELEBA_ATTRIBUTES, "multi", (HAIR,)),
    "rafd": DatasetLabels("toy-rafd", EXPRESSIONS, "single"),
}
HAIR_RGB = {0: (38, 32, 32), 1: (232, 196, 100), 2: (128, 74, 38)}
SKIN_RGB = ((255, 226, 198), (240, 196, 162), (222, 172, 132), (196, 136, 94), (150, 96, 64), (124, 82, 56))
SUPERSAMPLE = 4
EXPRESSION_SCALE = 1.5  # mouths and eyebrow movements, large enough to read at 32 px


@dataclass(frozen=True)
class Face:
    """Every parameter of one face. Attributes: hair, male, young, expression; the rest is nuisance."""

    cx: float
    cy: float
    radius: float
    skin: tuple[int, int, int]
    hair_rgb_jitter: tuple[int, int, int]
    hair_style: int  # 0 short, 1 bob, 2 long
    clothes: tuple[int, int, int]
    background: tuple[int, int, int]
    background2: tuple[int, int, int]
    pattern: int  # 0 plain, 1 vertical gradient, 2 blobs
    blob_seed: int
    iris: tuple[int, int, int]
    hair: int  # index into HAIR
    male: int
    young: int
    expression: int  # index into EXPRESSIONS


def _muted(rng: np.random.Generator) -> tuple[int, int, int]:
    """A varied but not garish colour (hue anywhere, saturation <= 0.55, value 0.35..0.95)."""
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.05, 0.55), rng.uniform(0.35, 0.95))
    return tuple(int(v * 255) for v in rgb)


def _rgb(rng: np.random.Generator, base: tuple[int, int, int], jitter: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(np.asarray(base) + rng.integers(-jitter, jitter + 1, 3), 0, 255))


def sample_face(seed: int, split: int, index: int, style: str) -> Face:
    """The face number `index` of a split; the same arguments always give the same face."""
    rng = np.random.default_rng([seed, split, index, 0 if style == "celeba" else 1])
    studio = style == "rafd"
    background = _rgb(rng, (226, 226, 222), 8) if studio else _muted(rng)
    return Face(
        cx=0.5 + (rng.uniform(-0.015, 0.015) if studio else rng.uniform(-0.06, 0.06)),
        cy=(0.47 if studio else 0.5) + (rng.uniform(-0.015, 0.015) if studio else rng.uniform(-0.05, 0.05)),
        radius=rng.uniform(0.33, 0.36) if studio else rng.uniform(0.25, 0.31),
        skin=_rgb(rng, SKIN_RGB[rng.integers(len(SKIN_RGB))], 10),
        hair_rgb_jitter=tuple(int(v) for v in rng.integers(-14, 15, 3)),
        hair_style=int(rng.integers(3)),
        clothes=_rgb(rng, (30, 30, 34), 6) if studio else _muted(rng),
        background=background,
        background2=background if studio else _muted(rng),
        pattern=0 if studio else int(rng.integers(3)),
        blob_seed=int(rng.integers(2**31)),
        iris=_rgb(rng, ((70, 50, 30), (60, 110, 160), (70, 120, 70))[rng.integers(3)], 15),
        hair=int(rng.integers(3)),
        male=int(rng.integers(2)),
        young=int(rng.integers(2)),
        expression=int(rng.integers(len(EXPRESSIONS))) if studio else EXPRESSIONS.index("neutral"),
    )


# ----- labels <-> parameters ----------------------------------------------------------------------------
def labels_of(face: Face, style: str) -> np.ndarray:
    """The face's 0/1 label vector in its style's attribute order."""
    if style == "rafd":
        out = np.zeros(len(EXPRESSIONS), np.float32)
        out[face.expression] = 1
        return out
    out = np.zeros(len(CELEBA_ATTRIBUTES), np.float32)
    out[face.hair] = 1
    out[3], out[4] = face.male, face.young
    return out


def with_labels(face: Face, style: str, labels: np.ndarray) -> Face:
    """The same face with the attributes of `labels` (a vector of `style`'s layout): a counterfactual."""
    labels = np.asarray(labels)
    if style == "rafd":
        return dataclasses.replace(face, expression=int(labels.argmax()))
    return dataclasses.replace(
        face, hair=int(labels[:3].argmax()), male=int(labels[3] > 0.5), young=int(labels[4] > 0.5)
    )


def with_style_of(face: Face, reference: Face) -> Face:
    """The face with a reference's hair: its colour (the domain), shade and cut: the exact answer of
    reference-guided translation (StarGAN v2) between hair-colour domains; the rest stays the source's."""
    return dataclasses.replace(
        face, hair=reference.hair, hair_style=reference.hair_style, hair_rgb_jitter=reference.hair_rgb_jitter
    )


# ----- drawing ------------------------------------------------------------------------------------------
def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, v * factor)) for v in rgb)


def _background(draw: ImageDraw.ImageDraw, face: Face, n: int) -> None:
    if face.pattern == 1:
        a, b = np.asarray(face.background), np.asarray(face.background2)
        for y in range(0, n, SUPERSAMPLE):
            t = y / n
            draw.rectangle([0, y, n, y + SUPERSAMPLE], fill=tuple(int(v) for v in a * (1 - t) + b * t))
        return
    draw.rectangle([0, 0, n, n], fill=face.background)
    if face.pattern == 2:
        rng = np.random.default_rng(face.blob_seed)
        for _ in range(4):
            x, y, s = rng.uniform(0, n, 2).tolist() + [rng.uniform(0.1, 0.25) * n]
            draw.ellipse([x - s, y - s, x + s, y + s], fill=face.background2)


def _brows(face: Face) -> tuple[float, float, float]:
    """(inner y, outer y, extra lift of the right brow) offsets in radii for each expression."""
    return {
        "angry": (0.10, -0.08, 0.0),
        "contemptuous": (0.0, 0.0, -0.12),
        "disgusted": (0.08, 0.04, 0.0),
        "fearful": (-0.14, -0.02, 0.0),
        "happy": (-0.04, -0.04, 0.0),
        "neutral": (0.0, 0.0, 0.0),
        "sad": (-0.12, 0.06, 0.0),
        "surprised": (-0.16, -0.16, 0.0),
    }[EXPRESSIONS[face.expression]]


def _mouth(draw: ImageDraw.ImageDraw, face: Face, x: float, y: float, r: float) -> None:
    r = EXPRESSION_SCALE * r  # every mouth shape and stroke scales with it
    lip, dark, w = (170, 50, 60), (70, 20, 25), 0.07 * r
    name = EXPRESSIONS[face.expression]
    hw = 0.3 * r
    if name in ("happy", "sad"):
        top, bottom = (y - 0.2 * r, y + 0.12 * r) if name == "happy" else (y - 0.02 * r, y + 0.3 * r)
        start, end = (20, 160) if name == "happy" else (200, 340)
        draw.arc([x - hw, top, x + hw, bottom], start, end, fill=lip, width=int(w * 1.4))
    elif name in ("surprised", "fearful"):
        hx, hy = (0.14 * r, 0.16 * r) if name == "surprised" else (0.3 * r, 0.09 * r)
        draw.ellipse([x - hx, y - hy, x + hx, y + hy], fill=dark, outline=lip, width=int(w))
    elif name == "disgusted":
        pts = [
            (x - hw, y + 0.04 * r),
            (x - hw / 3, y - 0.07 * r),
            (x + hw / 3, y + 0.06 * r),
            (x + hw, y - 0.06 * r),
        ]
        draw.line(pts, fill=lip, width=int(w * 1.3), joint="curve")
    elif name == "contemptuous":
        draw.line(
            [(x - hw, y + 0.03 * r), (x + 0.1 * r, y + 0.03 * r), (x + hw, y - 0.12 * r)],
            fill=lip,
            width=int(w * 1.3),
            joint="curve",
        )
    else:  # neutral, angry (tighter, thicker)
        thick, half = (1.8, 0.24 * r) if name == "angry" else (1.2, hw)
        draw.line([(x - half, y), (x + half, y)], fill=lip, width=int(w * thick))


def render(face: Face, size: int) -> np.ndarray:
    """The face as a (size, size, 3) uint8 RGB array."""
    n = size * SUPERSAMPLE
    image = Image.new("RGB", (n, n))
    draw = ImageDraw.Draw(image)
    _background(draw, face, n)
    cx, cy, r = face.cx * n, face.cy * n, face.radius * n
    hair = tuple(
        int(np.clip(a + b, 0, 255)) for a, b in zip(HAIR_RGB[face.hair], face.hair_rgb_jitter, strict=True)
    )
    # shoulders and neck
    draw.ellipse([cx - 1.5 * r, cy + 1.25 * r, cx + 1.5 * r, cy + 3.2 * r], fill=face.clothes)
    draw.rectangle([cx - 0.3 * r, cy + 0.7 * r, cx + 0.3 * r, cy + 1.4 * r], fill=_shade(face.skin, 0.9))
    # hair behind the head (bob: to the jaw, long: to the shoulders)
    if face.hair_style:
        length = 0.8 if face.hair_style == 1 else 1.55
        draw.rounded_rectangle(
            [cx - 1.0 * r, cy - 0.9 * r, cx + 1.0 * r, cy + length * r], radius=0.4 * r, fill=hair
        )
    # head
    draw.ellipse([cx - 0.82 * r, cy - 1.0 * r, cx + 0.82 * r, cy + 1.0 * r], fill=face.skin)
    # hair cap over the top of the head
    draw.chord([cx - 0.9 * r, cy - 1.12 * r, cx + 0.9 * r, cy + 0.05 * r], 180, 360, fill=hair)
    if face.hair_style == 0:
        draw.chord([cx - 0.9 * r, cy - 0.9 * r, cx - 0.2 * r, cy - 0.25 * r], 90, 270, fill=hair)
    if face.male:  # beard on the jaw and a moustache
        beard = _shade(hair, 0.85)
        draw.chord([cx - 0.82 * r, cy + 0.14 * r, cx + 0.82 * r, cy + 1.02 * r], 0, 180, fill=beard)
        draw.rounded_rectangle(
            [cx - 0.3 * r, cy + 0.22 * r, cx + 0.3 * r, cy + 0.31 * r], radius=0.05 * r, fill=beard
        )
    if not face.young:  # wrinkles: forehead lines, eye bags, nasolabial folds
        line, w = _shade(face.skin, 0.55), int(0.08 * r)
        draw.line([(cx - 0.35 * r, cy - 0.44 * r), (cx + 0.35 * r, cy - 0.44 * r)], fill=line, width=w)
        for side in (-1, 1):
            ex = cx + side * 0.35 * r
            draw.arc(
                [ex - 0.17 * r, cy - 0.05 * r, ex + 0.17 * r, cy + 0.16 * r], 20, 160, fill=line, width=w
            )
            draw.line(
                [(cx + side * 0.2 * r, cy + 0.12 * r), (cx + side * 0.42 * r, cy + 0.45 * r)],
                fill=line,
                width=w,
            )
    # eyes
    for side in (-1, 1):
        ex, ey = cx + side * 0.35 * r, cy - 0.08 * r
        draw.ellipse([ex - 0.16 * r, ey - 0.1 * r, ex + 0.16 * r, ey + 0.1 * r], fill=(250, 250, 250))
        draw.ellipse([ex - 0.08 * r, ey - 0.08 * r, ex + 0.08 * r, ey + 0.08 * r], fill=face.iris)
        draw.ellipse([ex - 0.035 * r, ey - 0.035 * r, ex + 0.035 * r, ey + 0.035 * r], fill=(10, 10, 10))
    # eyebrows
    inner, outer, lift = (EXPRESSION_SCALE * v for v in _brows(face))
    brow = _shade(hair, 0.7)
    for side in (-1, 1):
        y0 = cy - 0.3 * r + (lift * r if side == 1 else 0)
        draw.line(
            [(cx + side * 0.14 * r, y0 + inner * r), (cx + side * 0.52 * r, y0 + outer * r)],
            fill=brow,
            width=int(0.09 * EXPRESSION_SCALE * r),
        )
    # nose and mouth
    draw.line(
        [(cx, cy + 0.02 * r), (cx - 0.06 * r, cy + 0.18 * r), (cx + 0.04 * r, cy + 0.2 * r)],
        fill=_shade(face.skin, 0.75),
        width=int(0.05 * r),
    )
    _mouth(draw, face, cx, cy + 0.45 * r, r)
    return np.asarray(image.resize((size, size), Image.Resampling.BOX))


# ----- preparation --------------------------------------------------------------------------------------
SPLIT_IDS = {"train": 0, "test": 1}


def render_item(item: tuple[str, int, str, int, int]):
    """Worker for `write_prepared`: (style, seed, split, index, size) -> Row(image, labels, source)."""
    from ..prepare import Row

    style, seed, split, index, size = item
    face = sample_face(seed, SPLIT_IDS[split], index, style)
    return Row(render(face, size), labels_of(face, style), f"toyfaces:{style}:{seed}:{split}:{index}")


def face_of_source(source: str) -> tuple[Face, str]:
    """The parameters behind a prepared row, from its `files-<split>.txt` line."""
    _, style, seed, split, index = source.split(":")
    return sample_face(int(seed), SPLIT_IDS[split], int(index), style), style


def prepare_toyfaces(out: str, style: str, size: int, train: int, test: int, seed: int, overwrite: bool):
    from ..prepare import write_prepared
    from ..prepared import PreparedDataset, is_prepared

    if is_prepared(Path(out)) and not overwrite:  # the same rendering already there: nothing to do
        existing = PreparedDataset(out)
        same = existing.manifest.get("toyfaces") == {"style": style, "seed": seed}
        if same and existing.image_size == size and existing.split_sizes == {"train": train, "test": test}:
            info(f"{out} already holds this toyfaces dataset; nothing to do")
            return existing
    splits = {
        split: [(style, seed, split, i, size) for i in range(n)]
        for split, n in (("train", train), ("test", test))
    }
    return write_prepared(
        out,
        STYLES[style],
        size,
        splits,
        render_item,
        source=f"toyfaces (built-in renderer, style {style}, seed {seed})",
        preprocessing={"renderer": "toyfaces", "supersample": SUPERSAMPLE, "resize": "box"},
        extra={"toyfaces": {"style": style, "seed": seed}},
        overwrite=overwrite,
    )
