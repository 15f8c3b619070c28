"""`stargan translate`: apply named attributes to image files with a trained generator.

Each image is centre-cropped to a square and resized to the model's size (already-cropped faces; face
detection in full photos comes with faces.py). Attributes the user does not name keep the source value,
which the discriminator's classifier reads from the image (or `--from` gives). Targets of several
datasets become several passes, each with its own mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .checkpoint import load_model, model_file
from .errors import CheckpointError, ImageError, LabelError
from .images import grid, save_png, to_tensor, to_uint8
from .inference import single_target_columns, source_labels, translate
from .labels import LabelSpace, Target

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def load_image(path: Path, size: int) -> np.ndarray:
    """A file -> (size, size, 3) uint8: EXIF orientation applied, any mode converted to RGB, centre square."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
    except FileNotFoundError:
        raise ImageError(f"{path} not found") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(
            f"{path} is not a readable image ({exc.__class__.__name__}); pass PNG, JPEG or WebP files"
        ) from None
    image = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def collect_inputs(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    if not files:
        raise ImageError(f"no images found in {', '.join(inputs)}")
    return files


def parse_source(label_space: LabelSpace, spec: str) -> dict[int, torch.Tensor]:
    """`--from black,male`: the named attributes are 1, every other attribute of their datasets 0."""
    vectors: dict[int, torch.Tensor] = {}
    for t in label_space.parse_targets(spec):
        vec = vectors.setdefault(t.dataset, torch.zeros(len(label_space.datasets[t.dataset].attributes)))
        vec[label_space.datasets[t.dataset].index(t.attribute)] = t.value
    return vectors


def suffix_of(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", spec.replace(",", "_")).replace("=", "-").strip("_")


@dataclass
class Translator:
    generator: torch.nn.Module
    discriminator: torch.nn.Module | None
    label_space: LabelSpace
    image_size: int
    device: torch.device

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu") -> Translator:
        """The generator, and the discriminator beside it when there is one (it reads source attributes)."""
        generator, info = load_model(model)
        discriminator = None
        if model_file(model, "discriminator").is_file():
            discriminator, d_info = load_model(model, "discriminator")
            if d_info.label_space != info.label_space:
                raise CheckpointError(
                    f"the discriminator beside {model} was trained on {d_info.label_space.describe()}, the "
                    f"generator on {info.label_space.describe()}; export them together with `stargan export`"
                )
            discriminator.to(device)
        return cls(
            generator.to(device),
            discriminator,
            info.label_space,
            info.config.image_size,
            torch.device(device),
        )

    def sources(
        self, x: torch.Tensor, datasets: list[int], given: dict[int, torch.Tensor]
    ) -> dict[int, torch.Tensor]:
        out = {}
        for d in datasets:
            if d in given:
                out[d] = given[d].to(self.device).expand(x.shape[0], -1)
            elif self.discriminator is not None:
                out[d] = source_labels(self.discriminator, x, self.label_space, d)
            elif self.label_space.datasets[d].kind == "single":
                out[d] = x.new_zeros(x.shape[0], len(self.label_space.datasets[d].attributes))
            else:
                raise LabelError(
                    "this model has no discriminator.safetensors beside it to read the source attributes; "
                    "give them with --from (e.g. --from black,male)"
                )
        return out

    @torch.no_grad()
    def apply(self, x: torch.Tensor, targets: list[Target], given: dict[int, torch.Tensor]) -> torch.Tensor:
        order = list(dict.fromkeys(t.dataset for t in targets))  # datasets in the order of --to
        sources = self.sources(x, order, given)
        passes = [(d, self.label_space.apply_targets(d, sources[d], targets)) for d in order]
        return translate(self.generator, x, self.label_space, passes)

    @torch.no_grad()
    def grid(self, x: torch.Tensor, given: dict[int, torch.Tensor]) -> np.ndarray:
        columns = single_target_columns(
            self.generator,
            self.discriminator,
            x,
            self.label_space,
            {d: v.to(self.device).expand(x.shape[0], -1) for d, v in given.items()},
        )
        return grid([x] + [images for _, images in columns])


def run(
    inputs: list[str],
    model: str,
    to: str | None,
    out: str | None = None,
    grid_: bool = False,
    source: str | None = None,
    batch_size: int = 32,
    device: str = "cpu",
) -> list[Path]:
    if not to and not grid_:
        raise LabelError("say what to change with --to (e.g. --to blond,male=0) or ask for --grid")
    translator = Translator.load(model, device)
    targets = translator.label_space.parse_targets(to) if to else []
    given = parse_source(translator.label_space, source) if source else {}
    files = collect_inputs(inputs)
    written: list[Path] = []
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        x = to_tensor(np.stack([load_image(f, translator.image_size) for f in chunk]), translator.device)
        outputs: list[tuple[Path, np.ndarray]] = []
        if targets:
            for f, image in zip(chunk, to_uint8(translator.apply(x, targets, given)), strict=True):
                outputs.append((_out_path(f, out, suffix_of(to)), image))
        if grid_:
            picture = translator.grid(x, given)
            h = translator.image_size + 2
            for i, f in enumerate(chunk):
                outputs.append((_out_path(f, out, "grid"), picture[i * h : (i + 1) * h + 2]))
        for path, image in outputs:
            if path.resolve() in {f.resolve() for f in files}:
                raise ImageError(f"refusing to overwrite the input {path}; choose another --out")
            written.append(save_png(image, path))
    return written


def _out_path(source: Path, out: str | None, suffix: str) -> Path:
    folder = Path(out) if out else source.parent
    return folder / f"{source.stem}_{suffix}.png"
