"""The report's picture: a translation grid of test images, and a chart of accuracy per target attribute.

Grid: for each dataset a few test images (rows), the input and then every single target of every dataset
(columns, named in a header). Source labels come from the test labels for the image's own dataset and from
that dataset's evaluator for the others. Chart: one bar per target attribute and images, the accuracy of
translations to it, a thin bar for the preservation of the other attributes, and a tick at the evaluator's
accuracy on real images (the ceiling).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..data.prepared import PreparedDataset
from ..images import grid, save_image, to_tensor
from ..inference import covered_rows, sample_columns
from ..models.spec import Translator
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


def report_picture(
    path: str | Path,
    translator: Translator,
    datasets: list[PreparedDataset],
    evaluators: dict[str, Evaluator],
    scores: list[AttributeScore],
    device: torch.device | str = "cpu",
) -> Path:
    """Write the grid with its column names above the chart, as one PNG."""
    picture, names = translation_grid(translator, datasets, evaluators, device=device)
    grid_image, scale = _scaled(picture, datasets[0].image_size)
    cell = (datasets[0].image_size + 2) * scale
    font = _font(12)
    header = Image.new("RGB", (grid_image.width, 22), "white")
    draw = ImageDraw.Draw(header)
    for j, name in enumerate(names):
        draw.text((2 * scale + j * cell + 2, 4), name[: max(4, cell // 7)], TEXT, font)
    bars = chart(scores, max(grid_image.width, 720))
    width = max(grid_image.width, bars.width)
    out = Image.new("RGB", (width, header.height + grid_image.height + 10 + bars.height), "white")
    out.paste(header, (0, 0))
    out.paste(grid_image, (0, header.height))
    out.paste(bars, (0, header.height + grid_image.height + 10))
    return save_image(np.asarray(out), path)
