"""Faces in photos: detect, cut with the training framing, and paste the translation back.

Detection uses OpenCV's frontal-face Haar cascade, which ships inside `opencv-python-headless` 4.x (5.0
dropped the cascades) and works offline. The cut square follows CelebA's aligned crops: from a detector box
of width w, a square of side 2.0 w centred 0.1 w above the box centre puts the eyes near mid-height and
includes the hair and chin, as the 178x178 centre of a CelebA image does.

Paste-back keeps the photo's own resolution: only the change the generator made, G(x) - x at the model's
size, is scaled up and added to the full-resolution photo, so pixels the generator left alone keep
their detail. The change is colour-matched (its median over the border band, a colour cast rather than an
edit, is removed) and faded out towards the square's edges with a smooth (cosine) feather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageError

FRAME_SIDE = 2.0  # square side / detector box width
FRAME_SHIFT = -0.1  # square centre above the box centre, in box widths
FEATHER = 0.15  # fraction of the square's side over which the change fades out at each edge
DETECT_SIDE = 1024  # photos are searched at most this large (longest side); boxes are scaled back


@dataclass(frozen=True)
class Region:
    """A square of the photo in pixels; it may reach past the photo's edges."""

    left: int
    top: int
    side: int

    @classmethod
    def around(cls, x: float, y: float, w: float, h: float) -> Region:
        """The training framing around a detector box (x, y, w, h)."""
        side = FRAME_SIDE * max(w, h)
        cx, cy = x + w / 2, y + h / 2 + FRAME_SHIFT * max(w, h)
        return cls(int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side)))

    @classmethod
    def centre(cls, height: int, width: int) -> Region:
        """The largest centred square: for images that already are face crops (--no-detect)."""
        side = min(height, width)
        return cls((width - side) // 2, (height - side) // 2, side)


class FaceDetector:
    """Frontal faces, left to right, as training-framed Regions."""

    def __init__(self, min_face: float = 0.05) -> None:
        try:
            import cv2
        except ImportError:
            raise ImageError(
                "face detection needs OpenCV: pip install 'opencv-python-headless<5' "
                "(or pass --no-detect for images that already are face crops)"
            ) from None
        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self.cascade.empty():
            raise ImageError(
                "OpenCV's face cascade is missing from this install; OpenCV 5 dropped it: "
                "pip install 'opencv-python-headless<5'"
            )
        self.min_face = min_face

    def __call__(self, photo: np.ndarray) -> list[Region]:
        cv2 = self.cv2
        height, width = photo.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(height, width))
        gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            gray = cv2.resize(
                gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
            )
        gray = cv2.equalizeHist(gray)
        smallest = max(20, int(self.min_face * min(gray.shape)))
        boxes = self.cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
        )
        boxes = sorted((tuple(float(v) / scale for v in box) for box in boxes), key=lambda b: b[0])
        return [Region.around(*box) for box in boxes]


RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def cut(photo: np.ndarray, region: Region, size: int, resample: str = "lanczos") -> np.ndarray:
    """The region as a (size, size, 3) uint8 square, resized with `resample` (the filter the model's
    training images were resized with); parts outside the photo repeat its edge pixels."""
    height, width = photo.shape[:2]
    top, left, side = region.top, region.left, region.side
    pad = (
        (max(0, -top), max(0, top + side - height)),
        (max(0, -left), max(0, left + side - width)),
        (0, 0),
    )
    inside = photo[max(0, top) : min(height, top + side), max(0, left) : min(width, left + side)]
    square = np.pad(inside, pad, mode="edge") if any(p != (0, 0) for p in pad[:2]) else inside
    if side == size:
        return np.ascontiguousarray(square)
    return np.asarray(Image.fromarray(square).resize((size, size), RESAMPLE[resample]))


def feather_ramp(side: int, feather: float = FEATHER) -> np.ndarray:
    """(side,) float32: 1 inside, a cosine ramp to 0 over `feather` * side at each end (all ones when
    `feather` is 0). The square's weights are the minimum of the ramps of its row and its column."""
    if feather <= 0:
        return np.ones(side, np.float32)
    ramp_width = max(1.0, feather * side)
    distance = np.minimum(np.arange(side), np.arange(side)[::-1]) + 0.5  # to the nearest edge
    ramp = np.clip(distance / ramp_width, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * ramp)).astype(np.float32)


def feather_mask(side: int, feather: float = FEATHER) -> np.ndarray:
    """(side, side) float32 weights: 1 inside, fading to 0 towards every edge."""
    ramp = feather_ramp(side, feather)
    return np.minimum.outer(ramp, ramp)


def colour_matched_change(before: np.ndarray, after: np.ndarray, feather: float = FEATHER) -> np.ndarray:
    """G(x) - x as float32, less its median over the border band (where it should be zero); with no
    feather there is no band and the change is kept as it is."""
    change = after.astype(np.float32) - before.astype(np.float32)
    mask = feather_mask(change.shape[0], feather)
    band = mask < 1.0
    if band.any():
        change -= np.median(change[band], axis=0)
    return change


PASTE_ROWS = 512  # the full-resolution change exists this many rows at a time (a 9500 px face: 58 MB)


def paste(
    photo: np.ndarray, region: Region, before: np.ndarray, after: np.ndarray, feather: float = FEATHER
) -> np.ndarray:
    """Add the colour-matched, feathered change `after - before` (model size) into `photo` in place.

    The change is scaled up (bicubic) to the region's side one band of rows at a time, each band resampled
    from its own box of the model-size change with the same filter taps as the whole would be, so memory
    stays bounded however large the face is in the photo."""
    change = colour_matched_change(before, after, feather)
    side, size = region.side, change.shape[0]
    height, width = photo.shape[:2]
    y0, x0 = max(0, region.top), max(0, region.left)
    y1, x1 = min(height, region.top + side), min(width, region.left + side)
    if y1 <= y0 or x1 <= x0:
        return photo
    ramp = feather_ramp(side, feather)
    left, right = x0 - region.left, x1 - region.left  # columns of the square that are inside the photo
    planes = [Image.fromarray(np.ascontiguousarray(change[..., c])) for c in range(3)]  # mode "F"
    scale = size / side
    for top in range(y0 - region.top, y1 - region.top, PASTE_ROWS):
        bottom = min(y1 - region.top, top + PASTE_ROWS)
        if side == size:
            part = change[top:bottom, left:right].copy()
        else:
            box = (left * scale, top * scale, right * scale, bottom * scale)
            part = np.stack(
                [
                    np.asarray(p.resize((right - left, bottom - top), Image.Resampling.BICUBIC, box=box))
                    for p in planes
                ],
                axis=-1,
            )
        part *= np.minimum.outer(ramp[top:bottom], ramp[left:right])[..., None]
        target = photo[region.top + top : region.top + bottom, x0:x1]
        target[...] = np.clip(target + part, 0, 255).round().astype(np.uint8)
    return photo
