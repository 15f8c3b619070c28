"""Image conversions and grids: uint8 arrays <-> model tensors in [-1, 1], PNG grids."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .files import replaced


def to_tensor(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1] on `device`.

    On a GPU the uint8 batch is copied over (a quarter of the bytes) and converted there. On the CPU
    NumPy's cast is about 3x faster than a transposing copy, so the result keeps the rows' HWC memory order
    (channels_last strides, same values); every network input is concatenated first, which makes a new
    tensor anyway, so nothing downstream pays for it (measured: same step time).
    """
    device = torch.device(device)
    if device.type == "cpu":
        array = images.numpy() if isinstance(images, torch.Tensor) else images
        x = torch.from_numpy(np.asarray(array).astype(np.float32)).permute(0, 3, 1, 2)
        return x.div_(127.5).sub_(1.0)
    if isinstance(images, np.ndarray) and not images.flags.writeable:  # e.g. a memory-mapped split
        images = np.array(images)
    batch = torch.as_tensor(images).to(device, non_blocking=True)
    b, h, w, c = batch.shape
    x = torch.empty((b, c, h, w), dtype=torch.float32, device=device)
    x.copy_(batch.permute(0, 3, 1, 2))
    return x.div_(127.5).sub_(1.0)


def reframe(x: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Scale each image by `scale` (B,) about its centre (below 1 zooms out, above 1 in) and move it by
    `offset` (B, 2) (x, y, in fractions of the side); an uncovered border repeats the edge pixels, as a
    wider shot of the same scene would show more of a plain background. scale 1 and offset 0 return the
    image as it is."""
    theta = torch.zeros(len(x), 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = -2 * offset / scale[:, None]  # affine_grid maps output to input; the image spans 2
    return _resample(x, theta)


def _resample(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Each image sampled (bilinear, edges repeated) where the affine map theta (B, 2, 3) sends the output's
    pixels, in affine_grid's [-1, 1] coordinates."""
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)


def crop_boxes(rng: np.random.Generator, n: int, p: float, tries: int = 10) -> np.ndarray:
    """(n, 4) crop boxes (left, top, width, height) in fractions of the side, as torchvision's
    RandomResizedCrop(scale=(0.8, 1), ratio=(0.9, 1.1)) draws them (StarGAN v2's augmentation) for the images
    drawn with probability `p`; the whole image (0, 0, 1, 1) for the others. Each image takes the first of
    `tries` candidates (area fraction, log aspect ratio) that fits inside, else the whole image."""
    chosen = rng.random(n) < p
    area = rng.uniform(0.8, 1.0, (n, tries))
    aspect = np.exp(rng.uniform(np.log(0.9), np.log(1.1), (n, tries)))
    w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
    fits = (w <= 1) & (h <= 1)
    first = fits.argmax(1)
    ok = chosen & fits.any(1)
    w = np.where(ok, w[np.arange(n), first], 1.0)
    h = np.where(ok, h[np.arange(n), first], 1.0)
    left, top = rng.random(n) * (1 - w), rng.random(n) * (1 - h)
    return np.stack([left, top, w, h], 1).astype(np.float32)


def resized_crops(x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Each image's box (B, 4) (left, top, width, height in fractions) resized to the full size, bilinear;
    the box (0, 0, 1, 1) returns the image as it is."""
    theta = torch.zeros(len(x), 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 1, 1] = boxes[:, 2], boxes[:, 3]
    theta[:, 0, 2] = 2 * boxes[:, 0] + boxes[:, 2] - 1  # the box's centre, in affine_grid's [-1, 1]
    theta[:, 1, 2] = 2 * boxes[:, 1] + boxes[:, 3] - 1
    return _resample(x, theta)


# the colours of a heatmap from cold to hot (the jet scale attention maps are usually drawn with)
HEAT = torch.tensor([[0, 0, 0.5], [0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0], [0.5, 0, 0]])


def heatmap_overlay(x: torch.Tensor, heat: torch.Tensor, weight: float = 0.5) -> torch.Tensor:
    """Images x (B, 3, H, W) in [-1, 1] with a heatmap (B, 1, h, w) laid over them: each map scaled to
    [0, 1] on its own (min to max), resized to H x W (bilinear), coloured cold to hot, and mixed in with
    `weight`. Returns (B, 3, H, W) in [-1, 1]."""
    heat = torch.nn.functional.interpolate(
        heat.float(), size=x.shape[-2:], mode="bilinear", align_corners=False
    )
    low = heat.amin((1, 2, 3), keepdim=True)
    span = (heat.amax((1, 2, 3), keepdim=True) - low).clamp_min(1e-8)
    position = ((heat - low) / span)[:, 0] * (len(HEAT) - 1)  # (B, H, W) along the colour scale
    below = position.floor().long().clamp(max=len(HEAT) - 2)
    frac = (position - below)[..., None]
    colours = HEAT.to(x.device)
    rgb = colours[below] * (1 - frac) + colours[below + 1] * frac  # (B, H, W, 3) in [0, 1]
    return (1 - weight) * x.float() + weight * (rgb.permute(0, 3, 1, 2) * 2 - 1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    scaled = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu().numpy()


def grid(columns: Sequence[torch.Tensor], padding: int = 2) -> np.ndarray:
    """Columns of (B, 3, H, W) images -> one (B rows x len(columns)) uint8 picture with white gaps."""
    cols = [to_uint8(c) for c in columns]
    rows, h, w = cols[0].shape[0], cols[0].shape[1], cols[0].shape[2]
    out = np.full((rows * (h + padding) + padding, len(cols) * (w + padding) + padding, 3), 255, np.uint8)
    for j, col in enumerate(cols):
        for i in range(rows):
            y, x = padding + i * (h + padding), padding + j * (w + padding)
            out[y : y + h, x : x + w] = col[i]
    return out


def save_image(array: np.ndarray, path: str | Path, fmt: str = "PNG", **options) -> Path:
    """Write atomically (temporary name, then rename), so an interrupted save leaves no broken file.
    `fmt` and `options` go to PIL (e.g. "JPEG", quality=95)."""
    path = Path(path)
    with replaced(path) as tmp:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(tmp, format=fmt, **options)
    return path
