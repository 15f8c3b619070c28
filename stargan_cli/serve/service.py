"""What `stargan serve` does behind its page: the models it serves, their controls, and one upload
translated exactly as `stargan translate` translates the same file.

A page's controls become a `--to` string (the page shows it as the equivalent command), which is parsed
by the label space as the command line's is; the photo goes through translate.py's own steps (frame,
translate_crops, result_photo), so the page's result and `stargan translate FILE --to ...` are the same
pixels, in the same format: a JPEG's result is the command line's file byte for byte (quality 95), a PNG's
the same pixels written at a faster compression level.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import ImageError, LabelError
from ..faces import FaceDetector, Region
from ..labels import LabelSpace
from ..photos import declared_size, photo_format, read_photo
from ..translate import LoadedModel, Options, suffix_of, translate_photo

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; larger ones are for `stargan translate --max-side`
MAX_REFERENCES = 32  # reference photos kept for the page (a model-size crop each)
FRAMINGS = {
    "faces": "find the faces",
    "crop": "the image is a face crop",
    "native": "the whole image at its size",
}
NO_FACE = (
    f"choose the framing '{FRAMINGS['crop']}' if it already is a face crop, or '{FRAMINGS['native']}' for a "
    "scene (e.g. a CycleGAN model)"
)


@dataclass
class Translation:
    data: (
        bytes  # the photo encoded as `stargan translate` writes this file's result (PNG: faster, same pixels)
    )
    format: str  # png, jpeg or webp
    regions: list[Region]  # the faces translated (none for a whole image)
    width: int
    height: int
    seconds: float
    to: str


def _group_label(members: tuple[str, ...], number: int) -> str:
    """`Black_Hair, Blond_Hair, Brown_Hair` -> `Hair`: the common last word, else `group N`."""
    last = {m.rsplit("_", 1)[-1] for m in members}
    return last.pop() if len(last) == 1 and all("_" in m for m in members) else f"group {number}"


def controls(translator: LoadedModel) -> list[dict]:
    """The page's controls, per dataset of the label space. Each control says what it adds to `--to`:
    a choice's options carry their token ("" = keep the source); a slider names its attribute, set to
    the slider's value; a choice with `strength` appends `=value` of its own slider."""
    space: LabelSpace = translator.label_space
    model = translator.model
    out = []
    for spec in space.datasets:
        items: list[dict] = []
        own = getattr(model, "controls", None)  # a method's own controls (models/spec.py, Translator)
        if own is not None:
            items = own(space.dataset_index(spec.name))
        elif spec.kind == "single":
            options = [{"label": "keep", "to": ""}] + [{"label": a, "to": a} for a in spec.attributes]
            items.append({"kind": "choice", "label": "class", "options": options, "strength": False})
        else:
            grouped = {a for group in spec.exclusive for a in group}
            for number, group in enumerate(spec.exclusive, 1):
                options = [{"label": "keep", "to": ""}] + [{"label": a, "to": a} for a in group]
                items.append(
                    {
                        "kind": "choice",
                        "label": _group_label(group, number),
                        "options": options,
                        "strength": True,
                    }
                )
            items += [{"kind": "slider", "label": a, "to": a} for a in spec.attributes if a not in grouped]
        out.append({"dataset": spec.name, "kind": spec.kind, "controls": items})
    return out


@dataclass
class ServedModel:
    name: str  # the run folder's name, or the file's
    path: Path
    translator: LoadedModel

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> ServedModel:
        path = Path(path)
        name = path.name if path.is_dir() else f"{path.parent.name}/{path.name}"
        return cls(name, path, LoadedModel.load(path, device))

    def describe(self, index: int) -> dict:
        info = self.translator.info
        return {
            "id": index,
            "name": self.name,
            "path": str(self.path),
            "method": info.architecture,
            "step": info.step,
            "weights": info.weights,
            "image_size": self.translator.image_size,
            "datasets": controls(self.translator),
            "guides": list(self.translator.guides),  # "reference", "seed": the page's style controls
        }


class Service:
    """The models, loaded once, and one face detector; translations one at a time (the CPU's threads go
    to one photo rather than being split between several)."""

    def __init__(self, models: list[ServedModel], detector: FaceDetector | None = None) -> None:
        self.models = models
        self.detector = detector
        self.lock = threading.Lock()
        # uploaded references, framed: token -> (model, model-size crop); the newest MAX_REFERENCES
        self.references: OrderedDict[str, tuple[int, torch.Tensor]] = OrderedDict()

    def catalogue(self) -> dict:
        return {
            "models": [m.describe(i) for i, m in enumerate(self.models)],
            "framings": FRAMINGS,
            "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_pixels": MAX_PIXELS,
        }

    def _checked(self, model: int, framing: str) -> LoadedModel:
        if not 0 <= model < len(self.models):
            raise LabelError(f"no model {model}: this server has {len(self.models)}")
        if framing not in FRAMINGS:
            raise LabelError(f"framing {framing!r}: choose one of {', '.join(FRAMINGS)}")
        return self.models[model].translator

    def add_reference(self, data: bytes, filename: str, model: int, framing: str) -> tuple[str, Region]:
        """An uploaded reference photo, framed as `stargan translate --ref` frames it (its first face, or the
        centre square): a token for later translations, and the region it took."""
        translator = self._checked(model, framing)
        translator.check_guides(reference=True)  # a model without references says so here
        name = filename or "the reference"
        _check_size(data, name)
        photo = read_photo(io.BytesIO(data), max_pixels=MAX_PIXELS, name=name)
        with self.lock:
            if framing == "faces":
                self.detector = self.detector or FaceDetector()
            detector = self.detector if framing == "faces" else None
            crop, region = translator.reference_crop(photo, name, detector, NO_FACE)
            token = uuid.uuid4().hex
            self.references[token] = (model, crop)
            while len(self.references) > MAX_REFERENCES:
                self.references.popitem(last=False)
        return token, region

    def translate(
        self,
        data: bytes,
        filename: str,
        model: int,
        to: str,
        framing: str,
        seed: int | None = None,
        reference: str | None = None,
    ) -> Translation:
        """An uploaded photo -> the translated photo, encoded as `stargan translate` writes it (JPEG and WebP
        at quality 95, the rest PNG); `seed` or `reference` (a token of add_reference) for a model that takes
        them."""
        start = time.perf_counter()
        translator = self._checked(model, framing)
        if not to.strip():
            raise LabelError("nothing to change: set an attribute first")
        crop = None
        if reference:
            known = self.references.get(reference)
            if known is None or known[0] != model:
                raise LabelError("that reference photo is no longer on the server; choose it again")
            crop = known[1]
        (guide,) = translator.guides_for(crop, seed)
        name = filename or "the upload"
        _check_size(data, name)
        photo = read_photo(io.BytesIO(data), max_pixels=MAX_PIXELS, name=name)
        targets = translator.label_space.parse_targets(to)
        native = framing == "native"
        options = Options(
            targets=targets,
            given={},
            tag=suffix_of(to),
            detect=framing == "faces",
            native=native,
            outputs=[("", guide)],
        )
        with self.lock:
            if options.detect:
                self.detector = self.detector or FaceDetector()
            job, result = translate_photo(translator, photo, name, options, self.detector, NO_FACE)
        fmt, save = photo_format(Path(name).suffix)  # the command line's format for this file name
        if fmt == "PNG":
            save = {"compress_level": 1}  # the same pixels, written in a fraction of the time
        encoded = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(result)).save(encoded, fmt, **save)
        regions = [] if native else job.regions
        height, width = result.shape[:2]
        seconds = time.perf_counter() - start
        return Translation(encoded.getvalue(), fmt.lower(), regions, width, height, seconds, to)


def _check_size(data: bytes, name: str) -> None:
    """Refuse what the page cannot take, from the file's header alone, with what to do instead."""
    if not data:
        raise ImageError(f"{name} is empty; choose a photo (PNG, JPEG or WebP)")
    width, height = declared_size(io.BytesIO(data))  # (0, 0) for what is not an image: read_photo says why
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name} is {width}x{height} ({width * height / 1e6:.0f} megapixels); this page takes photos up to "
            f"{MAX_PIXELS / 1e6:.0f} megapixels: downscale it, or use `stargan translate --max-side 4000`"
        )
