"""StarGAN generator and discriminator (Choi et al. 2018), in the reference implementation's layout.

Parameter and buffer names match the reference (`main.0.weight`, ..., `conv1`, `conv2`) so its released
weights load by name. Sizes come from `StarGANConfig`; the defaults are the paper's 128 px model.

Generator: x (B,3,H,W) and label c (B,C) -> image (B,3,H,W) in [-1, 1]. c is tiled over the image and
concatenated after the RGB channels. Discriminator: x -> (patch map (B,1,h,w), class logits (B,num_classes)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class StarGANConfig:
    image_size: int = 128
    g_conv_dim: int = 64  # channels of the generator's first layer
    g_down: int = 2  # down-sampling (and up-sampling) layers of the generator
    g_repeat_num: int = 6  # residual blocks
    d_conv_dim: int = 64  # channels of the discriminator's first layer
    d_repeat_num: int = 6  # strided convolutions of the discriminator
    g_residual: bool = False  # not in the paper: G outputs tanh(atanh(x) + h), a change to its input
    g_skips: int = 0  # not in the paper: up-sampling layers (from the bottleneck out) given the encoder's map

    def __post_init__(self) -> None:
        from ..errors import ConfigError

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
        if not 0 <= self.g_skips <= self.g_down:
            raise ConfigError(
                f"model.g_skips must be between 0 and model.g_down ({self.g_down}), got {self.g_skips}"
            )


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
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


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
            nn.Conv2d(3 + label_dim, dim, 7, 1, 3, bias=False),
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
        # U-Net-style skips (not in the paper; no parameters, so the layout and names stay the reference's):
        # the output of encoder stage k (0 = the stem) is added to the decoder's output at the same size
        encoder_ends = [
            2 + 3 * k for k in range(config.g_down)
        ]  # the ReLU ending the stem and each down stage
        decoder_start = 3 + 3 * config.g_down + config.g_repeat_num
        decoder_ends = [decoder_start + 2 + 3 * j for j in range(config.g_down)]  # same, each up stage
        self.skips = dict(zip(decoder_ends[: config.g_skips], reversed(encoder_ends), strict=False))

    def _body(self, h: torch.Tensor) -> torch.Tensor:
        """Every layer but the final tanh, with the skips."""
        saved: dict[int, torch.Tensor] = {}
        wanted = set(self.skips.values())
        for i, layer in enumerate(list(self.main)[:-1]):
            h = layer(h)
            if i in wanted:
                saved[i] = h
            elif i in self.skips:
                h = h + saved.pop(self.skips[i])
        return h

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        # (B, C) -> (B, C, H, W), concatenated after the RGB channels
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        h = torch.cat([x, c], dim=1)
        if not self.residual and not self.skips:
            return self.main(h)
        h = self._body(h)
        if not self.residual:
            return torch.tanh(h)
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


def build(config: StarGANConfig, generator_dim: int, num_classes: int) -> tuple[Generator, Discriminator]:
    return Generator(config, generator_dim), Discriminator(config, num_classes)
