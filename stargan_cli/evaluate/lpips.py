"""Diversity of a guided method's outputs (StarGAN v2's protocol): LPIPS between every two outputs of one
input, or a named stand-in when its weights are not given.

LPIPS (Zhang et al., CVPR 2018), "alex" variant as StarGAN v2 computes it: images in [-1, 1] shifted and
scaled per channel, AlexNet's five ReLU outputs, each unit-normalised over channels, squared differences
weighted by a 1x1 convolution (no bias), averaged over space and summed over the five layers. Two local
files, never downloaded: the linear layers (`--lpips-weights`: StarGAN v2's `metrics/lpips_weights.ckpt`,
keys `lpips_weights.K.main.1.weight`, or the lpips package's `alex.pth`, keys `linK.model.1.weight`) and
torchvision's ImageNet AlexNet (`--lpips-backbone`, or `alexnet-owt-7be5be79.pth` in the torch hub cache).
The features stop at the last ReLU: the reference also runs the final max-pool, whose output LPIPS never
reads and which fails below 63 px.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from ..imports.weights import as_state_dict, load_pickled_tensors

BACKBONE_FILE = "alexnet-owt-7be5be79.pth"
BACKBONE_URL = f"https://download.pytorch.org/models/{BACKBONE_FILE}"
LINEAR_URL = "https://github.com/clovaai/stargan-v2/raw/master/metrics/lpips_weights.ckpt"
CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)  # torchvision alexnet.features: the five ReLUs
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
STAND_IN = "pixel L1"
STAND_IN_LINE = (
    f"diversity is the mean {STAND_IN} between outputs of one input, a stand-in for LPIPS: pass --lpips-weights "
    f"FILE (StarGAN v2's metrics/lpips_weights.ckpt, {LINEAR_URL}) and torchvision's {BACKBONE_FILE} "
    "(--lpips-backbone FILE or the torch hub cache) for the paper's number"
)


def hub_backbone() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILE


def _tensors(path: Path, what: str) -> dict[str, torch.Tensor]:
    """A weights file's tensors through the weights-only reader of released checkpoints, its errors naming
    the file that was expected."""
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file; expected {what}")
    try:
        return as_state_dict(load_pickled_tensors(path), path)
    except CheckpointError as e:
        raise CheckpointError(f"{e}; expected {what}") from None


class LPIPS(nn.Module):
    """LPIPS distance between two batches of images in [-1, 1]: (B,) values."""

    name = "LPIPS"

    def __init__(self, linear: dict[str, torch.Tensor], backbone: dict[str, torch.Tensor]) -> None:
        super().__init__()
        from torchvision.models import alexnet

        self.features = alexnet(weights=None).features[: TAPS[-1] + 1]
        wanted = {k: v for k, v in backbone.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict({k.removeprefix("features."): v for k, v in wanted.items()})
        except RuntimeError as e:
            raise CheckpointError(
                f"the LPIPS backbone file does not hold torchvision's AlexNet ({BACKBONE_FILE})"
            ) from e
        self.linear = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        found = {}
        for key, value in linear.items():
            m = re.search(r"(\d)\.(?:main|model)\.1\.weight$", key)
            if m:
                found[int(m.group(1))] = value
        shapes = [tuple(found[i].shape) if i in found else None for i in range(5)]
        if shapes != [(1, c, 1, 1) for c in CHANNELS]:
            raise CheckpointError(
                "the LPIPS weights file does not hold AlexNet's five linear layers (lpips_weights.K.main.1.weight "
                f"or linK.model.1.weight of 64, 192, 384, 256, 256 channels); found {shapes}"
            )
        for i, layer in enumerate(self.linear):
            layer.weight.data.copy_(found[i])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    @classmethod
    def from_files(cls, linear: str | Path, backbone: str | Path | None = None) -> LPIPS:
        linear_what = "StarGAN v2's metrics/lpips_weights.ckpt or the lpips package's alex.pth"
        linear_weights = _tensors(Path(linear).expanduser(), linear_what)  # the file given first
        backbone = Path(backbone).expanduser() if backbone else hub_backbone()
        if not backbone.is_file():
            raise CheckpointError(
                f"LPIPS needs torchvision's ImageNet AlexNet as a local file: download {BACKBONE_URL} and pass "
                f"--lpips-backbone FILE, or put it at {hub_backbone()}"
            )
        return cls(linear_weights, _tensors(backbone, BACKBONE_FILE))

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, x = [], (x.float() - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = a.new_zeros(len(a), dtype=torch.float32)
        for fa, fb, lin in zip(self._taps(a), self._taps(b), self.linear, strict=True):
            total = total + lin((fa - fb) ** 2).mean((1, 2, 3))
        return total


class PixelL1(nn.Module):
    """The stand-in: mean absolute difference in [0, 1] pixel units, (B,) values."""

    name = STAND_IN

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.float() - b.float()).abs().mean((1, 2, 3)) / 2


def diversity(distance: nn.Module, outputs: list[torch.Tensor]) -> torch.Tensor:
    """(B,) the mean distance over every two of one input's outputs (45 pairs for 10 outputs)."""
    pairs = list(combinations(range(len(outputs)), 2))
    return sum(distance(outputs[i], outputs[j]) for i, j in pairs) / len(pairs)


def diversity_network(linear: str | Path | None, backbone: str | Path | None) -> tuple[nn.Module, str | None]:
    """LPIPS from the given files, or the pixel stand-in and the one line that says so."""
    if linear is None:
        if backbone is not None:
            raise CheckpointError("--lpips-backbone needs --lpips-weights (the linear layers) beside it")
        return PixelL1(), STAND_IN_LINE
    return LPIPS.from_files(linear, backbone), None
