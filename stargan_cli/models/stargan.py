"""StarGAN generator and discriminator (Choi et al. 2018), in the reference implementation's layout.

Parameter and buffer names match the reference (`main.0.weight`, ..., `conv1`, `conv2`) so its released
weights load by name. Sizes come from `StarGANConfig`; the defaults are the paper's 128 px model.

Generator: x (B,3,H,W) and label c (B,C) -> image (B,3,H,W) in [-1, 1]. c is tiled over the image and
concatenated after the RGB channels. Discriminator: x -> (patch map (B,1,h,w), class logits (B,num_classes)).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..labels import LabelSpace
from .spec import ModelSpec, Signature


@dataclass(frozen=True)
class StarGANConfig:
    image_size: int = 128
    g_conv_dim: int = 64  # channels of the generator's first layer
    g_down: int = 2  # down-sampling (and up-sampling) layers of the generator
    g_repeat_num: int = 6  # residual blocks
    d_conv_dim: int = 64  # channels of the discriminator's first layer
    d_repeat_num: int = 6  # strided convolutions of the discriminator
    # not in the paper: G outputs tanh(atanh(x) + h), a change to its input, and starts as the identity
    g_residual: bool = False

    # settings of earlier versions, removed after measurement (docs/experiments.md): accepted only at
    # these values, which are what the networks above compute, so older files still load
    RETIRED = {"g_skips": 0}

    def __post_init__(self) -> None:
        for name in ("image_size", "g_conv_dim", "g_repeat_num", "d_conv_dim", "d_repeat_num"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        if self.image_size % (2**self.d_repeat_num):
            raise ConfigError(
                f"model.image_size {self.image_size} must be a multiple of 2**model.d_repeat_num "
                f"= {2**self.d_repeat_num}; change one of them"
            )
        if self.image_size % (2**self.g_down):
            raise ConfigError(f"model.image_size {self.image_size} must be a multiple of 2**model.g_down")


RESIDUAL_LIMIT = 0.999  # atanh(0.999) = 3.8: pure black and white stay reachable and finite


class InstanceNorm(nn.InstanceNorm2d):
    """InstanceNorm2d(affine, track_running_stats) that always normalises with the image's own statistics.

    The reference keeps running statistics (so its checkpoints carry them) but never calls eval(), so
    every forward pass, at training and at test time, uses per-image statistics. Users who called eval()
    got broken images. Here the buffers exist for checkpoint compatibility and are never used or updated,
    so train() and eval() give the same, correct result.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if channels_last(x):
            return nhwc_instance_norm(x, self.weight, self.bias, self.eps)
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def channels_last(x: torch.Tensor) -> bool:
    """A 4-D map laid out NHWC (`train.memory_format = channels_last`, the default on a GPU)."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def nhwc_instance_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """F.instance_norm's numbers for a channels_last map, reduced over H and W where it lies: F.instance_norm
    normalises through batch_norm on a (1, N*C, H, W) view, which an NHWC map must be copied into and out
    of (a large share of a graphed bf16 cycle on the H100: benchmarks/RESULTS.md). Statistics in fp32, then
    one fused multiply-add on the map in its own dtype; the result keeps the NHWC layout."""
    var, mean = torch.var_mean(x.float(), dim=(2, 3), unbiased=False, keepdim=True)
    scale = torch.rsqrt(var + eps) * weight.float()[:, None, None]
    shift = bias.float()[:, None, None] - mean * scale
    return torch.addcmul(shift.to(x.dtype), x, scale.to(x.dtype))


class FirstConv(nn.Conv2d):
    """The generator's first convolution (3 + label channels in, 7x7). With channels_last weights its input
    and weight are padded with zero channels to a multiple of PAD_TO: the same sums, in a shape cuDNN has
    fast NHWC kernels for (on 8 channels in bf16 it picked a slow generic kernel; benchmarks/RESULTS.md).
    The stored weight keeps the reference's shape, so checkpoints do not change."""

    PAD_TO = 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        extra = -x.shape[1] % self.PAD_TO
        if not extra or not channels_last(self.weight):
            return super().forward(x)
        x = torch.cat([x, x.new_zeros(x.shape[0], extra, *x.shape[2:])], dim=1)
        weight = torch.cat(
            [self.weight, self.weight.new_zeros(self.weight.shape[0], extra, *self.weight.shape[2:])], dim=1
        )
        return self._conv_forward(x, weight.contiguous(memory_format=torch.channels_last), self.bias)


class ResidualBlock(nn.Module):
    """Conv3x3-IN-ReLU-Conv3x3-IN with an identity shortcut and no activation after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            InstanceNorm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            InstanceNorm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class Generator(nn.Module):
    def __init__(self, config: StarGANConfig, label_dim: int) -> None:
        super().__init__()
        self.label_dim = label_dim
        dim = config.g_conv_dim
        layers: list[nn.Module] = [
            FirstConv(3 + label_dim, dim, 7, 1, 3, bias=False),
            InstanceNorm(dim),
            nn.ReLU(inplace=True),
        ]
        for _ in range(config.g_down):
            layers += [
                nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=False),
                InstanceNorm(dim * 2),
                nn.ReLU(inplace=True),
            ]
            dim *= 2
        layers += [ResidualBlock(dim) for _ in range(config.g_repeat_num)]
        for _ in range(config.g_down):
            layers += [
                nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False),
                InstanceNorm(dim // 2),
                nn.ReLU(inplace=True),
            ]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.residual = config.g_residual
        if self.residual:  # start as the identity: the last convolution begins at zero
            nn.init.zeros_(layers[-2].weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        # (B, C) -> (B, C, H, W), concatenated after the RGB channels
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        if not self.residual:
            return self.main(torch.cat([x, c], dim=1))
        h = self.main[:-1](torch.cat([x, c], dim=1))  # every layer but the final tanh
        # the change is added in the pre-tanh space of the input: the output stays in (-1, 1), h = 0 is x
        return torch.tanh(torch.atanh(x.clamp(-RESIDUAL_LIMIT, RESIDUAL_LIMIT)) + h)


class Discriminator(nn.Module):
    """PatchGAN source head + auxiliary classifier over all attributes of the label space."""

    def __init__(self, config: StarGANConfig, num_classes: int) -> None:
        super().__init__()
        dim = config.d_conv_dim
        layers: list[nn.Module] = [nn.Conv2d(3, dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        for _ in range(1, config.d_repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        kernel = config.image_size // 2**config.d_repeat_num
        self.conv1 = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(dim, num_classes, kernel, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)  # (B, dim, H/2^n, W/2^n)
        return self.conv1(h), self.conv2(h).flatten(1)  # (B,1,h,w), (B,num_classes)


NETWORKS = ("generator", "discriminator")


def build(config: StarGANConfig, label_space: LabelSpace) -> dict[str, nn.Module]:
    """The method's networks by name: G takes the generator labels (with the mask), D classifies every
    attribute of the label space."""
    return {
        "generator": Generator(config, label_space.generator_dim),
        "discriminator": Discriminator(config, label_space.num_classes),
    }


class StarGANTranslator:
    """What translates (models/spec.py Translator): one generator pass per dataset, with that dataset's mask;
    source attributes read by D's classifier when the discriminator is there."""

    def __init__(
        self, networks: Mapping[str, Callable], label_space: LabelSpace, config: StarGANConfig | None = None
    ) -> None:
        self.generator = networks["generator"]
        self.discriminator = networks.get("discriminator")
        self.label_space = label_space

    def translate(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor:
        return self.generator(x, self.label_space.generator_label(dataset, target.to(x.device, x.dtype)))

    def read_source(self, x: torch.Tensor, dataset: int) -> torch.Tensor | None:
        if self.discriminator is None:
            return None
        _, logits = self.discriminator(x)
        logits = logits[:, self.label_space.slice(dataset)].float()
        if self.label_space.datasets[dataset].kind == "single":
            return F.one_hot(logits.argmax(1), logits.shape[1]).float()
        return (logits > 0).float()

    def targets(self, dataset: int) -> tuple[str, ...]:
        return self.label_space.datasets[dataset].attributes

    def attention(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor | None:
        return None

    def covers(self, dataset: int, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.ones(len(target), dtype=torch.bool, device=target.device)


def _example(role: str):
    def inputs(config: StarGANConfig, label_space: LabelSpace, batch: int, gen: torch.Generator):
        image = torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1
        if role == "discriminator":
            return (image,)
        return image, torch.rand(batch, label_space.generator_dim, generator=gen).round()

    return inputs


MODEL = ModelSpec(
    config=StarGANConfig,
    networks=NETWORKS,
    build=build,
    exported=NETWORKS,  # D beside G: its classifier reads the source attributes of arbitrary photos
    needed=("generator",),
    translator=StarGANTranslator,
    signatures={
        "generator": Signature(("image", "label"), ("translated",), _example("generator")),
        "discriminator": Signature(("image",), ("patch", "logits"), _example("discriminator")),
    },
    multiple=lambda config: 2**config.g_down,
)
