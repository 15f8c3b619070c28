"""The Python API: a trained model, loaded once, that translates images in a notebook or a script.

    import stargan_cli as sg
    model = sg.load("runs/latest")                    # a run, a model file, a folder of model files, .onnx
    out = model(Image.open("face.jpg"), to="blond,young=0")

A photo (a PIL image or an (H, W, 3) uint8 array) goes through the command line's own steps
(translate.frame, translate_crops, result_photo), so `model(photo, to=...)` gives the pixels `stargan
translate photo.png --to ...` writes; `framing` is the command line's choice ("faces": every face found,
"crop": the image is a face crop, --no-detect; "native": the whole image at its size, --native). The
answer has the input's kind: a PIL image for a PIL image, an array for an array, a list for a list. A
tensor (B, 3, H, W) in [-1, 1] at the model's size is a batch of model-size crops and is translated as it
is, on the model's device. A method that takes guides (StarGAN v2) also takes `reference` (a photo, framed
as the inputs are, whose style the outputs take) or `seed` and `samples` (sampled styles: with samples=K
each image gives a list of K outputs); the others refuse them in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .accelerators import check_device
from .errors import ImageError, LabelError
from .faces import FaceDetector
from .models.spec import Guide
from .translate import LoadedModel, Options, parse_source, suffix_of, translate_photo

FRAMINGS = ("faces", "crop", "native")
NO_FACE = "pass framing='crop' if it already is a face crop, or framing='native'"


@dataclass
class Model:
    """A loaded model: call it with images and `to` (the command line's --to syntax)."""

    translator: LoadedModel
    _detector: FaceDetector | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return self.translator.info.architecture if self.translator.info else "?"

    @property
    def image_size(self) -> int:
        return self.translator.image_size

    @property
    def targets(self) -> dict[str, tuple[str, ...]]:
        """What `to` can name: the single targets of each dataset of the label space."""
        space = self.translator.label_space
        return {d.name: self.translator.model.targets(i) for i, d in enumerate(space.datasets)}

    def __call__(
        self,
        images: Any,
        to: str,
        *,
        framing: str | None = None,
        source: str | None = None,
        reference: Any = None,
        seed: int | None = None,
        samples: int = 1,
    ) -> Any:
        """`images` translated to `to`; `source` names the input's attributes (the command line's --from)
        where the model cannot read them. Photos default to framing "faces", as the command line does."""
        self.translator.check_guides(reference is not None, seed, samples)  # before a reference is framed
        if not to:
            raise LabelError("say what to change with to=... (e.g. to='blond,male=0')")
        targets = self.translator.label_space.parse_targets(to)
        given = parse_source(self.translator.label_space, source) if source else {}
        if isinstance(images, torch.Tensor):
            if framing is not None:
                raise LabelError("a tensor is a batch of model-size crops; framing applies to photos")
            guides = self._guides(reference, seed, samples, "crop")
            outputs = [self._tensor(images, targets, given, guide) for guide in guides]
            return outputs if samples > 1 else outputs[0]
        framing = framing or "faces"
        if framing not in FRAMINGS:
            raise LabelError(f"framing {framing!r}: choose one of {', '.join(FRAMINGS)}")
        guides = self._guides(reference, seed, samples, framing)
        options = Options(
            targets, given, suffix_of(to), detect=framing == "faces", native=framing == "native"
        )
        if isinstance(images, Sequence) and not isinstance(images, np.ndarray):
            return [
                self._samples(image, options, guides, samples, f"image {i}") for i, image in enumerate(images)
            ]
        return self._samples(images, options, guides, samples, "the image")

    def _guides(self, reference: Any, seed: int | None, samples: int, framing: str) -> list[Guide | None]:
        """The guide of each output; a reference photo is framed as the inputs (a tensor: a model-size crop)."""
        crop = None
        if isinstance(reference, torch.Tensor):
            crop = self._checked(reference[None] if reference.dim() == 3 else reference)
        elif reference is not None:
            detector = self._face_detector() if framing == "faces" else None
            crop, _ = self.translator.reference_crop(_as_array(reference, "the reference"), "the reference",
                                                     detector, NO_FACE)  # fmt: skip
        return self.translator.guides_for(crop, seed, samples)

    def _checked(self, x: torch.Tensor) -> torch.Tensor:
        size = self.translator.image_size
        if x.dim() != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (size, size):
            raise ImageError(
                f"a tensor must be a batch (B, 3, {size}, {size}) in [-1, 1] at the model's size, "
                f"got {tuple(x.shape)}; give photos as PIL images or arrays"
            )
        return x.to(self.translator.device, torch.float32)

    def _tensor(self, x: torch.Tensor, targets, given, guide: Guide | None) -> torch.Tensor:
        return self.translator.apply(self._checked(x), targets, given, guide=guide)

    def _face_detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = FaceDetector()
        return self._detector

    def _samples(self, image: Any, options: Options, guides: list, samples: int, name: str) -> Any:
        outputs = [self._photo(image, dataclasses.replace(options, outputs=[("", g)]), name) for g in guides]
        return outputs if samples > 1 else outputs[0]

    def _photo(self, image: Any, options: Options, name: str) -> Any:
        array = _as_array(image, name).copy()  # the faces are pasted into it; the caller's stays as it was
        detector = self._face_detector() if options.detect else None
        _, result = translate_photo(self.translator, array, name, options, detector, NO_FACE)
        return Image.fromarray(result) if isinstance(image, Image.Image) else result


def _as_array(image: Any, name: str) -> np.ndarray:
    """A PIL image (any mode) or an (H, W, 3) uint8 array -> (H, W, 3) uint8 RGB."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image
    what = f"an array {image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
    raise ImageError(
        f"{name} is {what}; give a PIL image, an (H, W, 3) uint8 array, a list of them, or a (B, 3, H, W) tensor"
    )


def load(path: str | Path, device: str = "cpu") -> Model:
    """A run folder, a model file (.safetensors or .onnx) or a folder of model files, on `device`."""
    return Model(LoadedModel.load(path, check_device(device)))
