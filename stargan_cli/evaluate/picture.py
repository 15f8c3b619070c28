"""The report's picture: a translation grid of test images, and a chart of accuracy per target attribute.

Grid: for each dataset a few test images (rows), the input and then every single target of every dataset
(columns, named in a header). Source labels come from the test labels for the image's own dataset and from
that dataset's evaluator for the others. Chart: one bar per target attribute and images, the accuracy of
translations to it, a thin bar for the preservation of the other attributes, and a tick at the evaluator's
accuracy on real images (the ceiling).

A method that takes guides (StarGAN v2) also gets its paper's two figures under the grid: a reference grid
(references of each target domain across the top, test images down the side, each cell the row's image
with the column's reference's style) and a row of sampled styles (seeds 0..) per target domain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..data.prepared import PreparedDataset
from ..images import grid, save_image, to_tensor
from ..inference import covered_rows, model_targets, sample_columns
from ..models.spec import Guide, Translator
from .classifier import classify, predict
from .metrics import AttributeScore, Evaluator

CELL = 96  # images are scaled up (nearest) to at least this many pixels
BAR_H, LABEL_W, TEXT = 16, 330, (20, 20, 20)
COLOURS = {"acc": (52, 101, 164), "kept": (115, 170, 90), "ceil": (200, 40, 40)}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@torch.no_grad()
def translation_grid(
    translator: Translator,
    datasets: list[PreparedDataset],
    evaluators: dict[str, Evaluator],
    rows: int = 3,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, list[str]]:
    """(picture, column names): `rows` test images of each dataset, input then every single target."""
    label_space = translator.label_space
    blocks, names = [], []
    for ds in datasets:
        test = ds.split("test")
        chosen = covered_rows(translator, label_space.dataset_index(ds.name), test.labels)[:rows]
        x = to_tensor(test.images[chosen], device)
        known = {}
        for d, spec in enumerate(label_space.datasets):
            if spec.name == ds.name:
                known[d] = torch.from_numpy(test.labels[chosen]).to(device)
            elif spec.name in evaluators:
                known[d] = predict(classify(evaluators[spec.name].model, x), spec).to(device)
        columns = sample_columns(translator, x, known)
        names = ["input"] + [name for name, _ in columns]
        blocks.append(grid([x] + [images for _, images in columns]))
    gap = np.full((6, blocks[0].shape[1], 3), 255, np.uint8)
    out = blocks[0]
    for block in blocks[1:]:
        out = np.concatenate([out, gap, block])
    return out, names


@torch.no_grad()
def guided_grids(
    translator, dataset: PreparedDataset, rows: int = 4, per_domain: int = 2, seeds: int = 4, device="cpu"
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """(reference grid, its column names, latent rows, their column names) of a guided method."""
    test = dataset.split("test")
    d = translator.label_space.dataset_index(dataset.name)
    x = to_tensor(test.images[covered_rows(translator, d, test.labels)[:rows]], device)
    targets = [(n, t.to(device)) for n, t in model_targets(translator, d, torch.from_numpy(test.labels[:1]))]
    refs, ref_targets, names = [], [], []
    for name, target in targets:
        have = np.flatnonzero(test.labels[:, dataset.labels.index(name)] > 0.5)[:per_domain]
        refs += [to_tensor(test.images[i : i + 1], device) for i in have]
        ref_targets += [target] * len(have)
        names += [f"ref {name}"] * len(have)
    top = [torch.ones_like(x[:1])] + refs  # a blank corner above the sources
    cells = [
        translator.translate(x, d, t.expand(len(x), -1), Guide(reference=r))
        for r, t in zip(refs, ref_targets, strict=True)
    ]
    reference = np.concatenate([grid(top), grid([x] + cells)[2:]])
    latent_names, latent = ["input"], [x[:1]]
    for name, target in targets:
        latent += [translator.translate(x[:1], d, target, Guide(seed=k)) for k in range(seeds)]
        latent_names += [f"{name} seed {k}" for k in range(seeds)]
    return reference, ["source \\ ref"] + names, grid(latent), latent_names


def _scaled(picture: np.ndarray, image_size: int) -> tuple[Image.Image, int]:
    scale = max(1, -(-CELL // image_size))
    image = Image.fromarray(picture)
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST), scale


def chart(scores: list[AttributeScore], width: int) -> Image.Image:
    """Horizontal bars: accuracy (thick), preservation (thin), the ceiling (a red tick), per score."""
    font = _font(13)
    top = 30
    image = Image.new("RGB", (width, top + len(scores) * (BAR_H + 8) + 10), "white")
    draw = ImageDraw.Draw(image)
    span = width - LABEL_W - 20
    draw.text(
        (10, 8), "target accuracy (blue), others kept (green), evaluator on real images (red)", TEXT, font
    )
    for i, s in enumerate(scores):
        y = top + i * (BAR_H + 8)
        who = s.dataset if s.source in ("", s.dataset) else f"{s.source} -> {s.dataset}"
        who += f", {s.guide}" if s.guide else ""
        draw.text((10, y), f"{who}: {s.attribute}", TEXT, font)
        x0 = LABEL_W
        draw.rectangle([x0, y, x0 + span, y + BAR_H], outline=(200, 200, 200))
        draw.rectangle([x0, y, x0 + int(span * s.target_accuracy), y + BAR_H - 5], fill=COLOURS["acc"])
        if s.preservation is not None:
            draw.rectangle(
                [x0, y + BAR_H - 4, x0 + int(span * s.preservation), y + BAR_H], fill=COLOURS["kept"]
            )
        if s.evaluator_accuracy is not None:
            cx = x0 + int(span * s.evaluator_accuracy)
            draw.line([cx, y - 2, cx, y + BAR_H + 2], fill=COLOURS["ceil"], width=2)
        draw.text((x0 + 6, y + 1), f"{s.target_accuracy:.1%}", (255, 255, 255), font)
    return image


def _wrapped(name: str, chars: int) -> list[str]:
    """A column name in at most two lines of `chars` characters, broken at a space where it can be."""
    if len(name) <= chars:
        return [name]
    cut = name.rfind(" ", 0, chars + 1)
    cut = cut if cut > 0 else chars
    return [name[:cut], name[cut:].strip()[:chars]]


def _titled(picture: np.ndarray, names: list[str], image_size: int, title: str | None = None) -> Image.Image:
    """The grid scaled up, with its column names (two lines where long) and an optional title above."""
    grid_image, scale = _scaled(picture, image_size)
    cell = (image_size + 2) * scale
    font = _font(12)
    top = 18 if title else 0
    header = Image.new("RGB", (grid_image.width, top + 32 + grid_image.height), "white")
    draw = ImageDraw.Draw(header)
    if title:
        draw.text((4, 2), title, TEXT, font)
    for j, name in enumerate(names):
        for k, line in enumerate(_wrapped(name, max(4, cell // 7))):
            draw.text((2 * scale + j * cell + 2, top + 3 + 14 * k), line, TEXT, font)
    header.paste(grid_image, (0, top + 32))
    return header


def report_picture(
    path: str | Path,
    translator: Translator,
    datasets: list[PreparedDataset],
    evaluators: dict[str, Evaluator],
    scores: list[AttributeScore],
    device: torch.device | str = "cpu",
    guided: bool = False,
) -> Path:
    """Write the grid with its column names above the chart (a guided method: its two figures between
    them), as one PNG."""
    size = datasets[0].image_size
    parts = [_titled(*translation_grid(translator, datasets, evaluators, device=device), size)]
    if guided:
        reference, ref_names, latent, latent_names = guided_grids(translator, datasets[0], device=device)
        parts.append(
            _titled(
                reference,
                ref_names,
                size,
                "reference-guided: each row's image in the style of each column's reference",
            )
        )
        parts.append(
            _titled(latent, latent_names, size, "latent-guided: sampled styles (seeds) per target domain")
        )
    parts.append(chart(scores, max(max(p.width for p in parts), 720)))
    out = Image.new("RGB", (max(p.width for p in parts), sum(p.height + 10 for p in parts) - 10), "white")
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height + 10
    return save_image(np.asarray(out), path)
