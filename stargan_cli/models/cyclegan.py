"""CycleGAN (Zhu et al. 2017): two ResNet generators and two 70x70 PatchGANs, in the reference's layout.

Names follow the reference (`junyanz/pytorch-CycleGAN-and-pix2pix`) so its released state_dicts load by
name: each network is one `model` Sequential with the reference's indices. The roles are the reference's:

| here              | reference | paper | what it does                                   |
|-------------------|-----------|-------|------------------------------------------------|
| `generator`       | G_A       | G     | domain A -> domain B (the entry file)          |
| `generator_b`     | G_B       | F     | domain B -> domain A                           |
| `discriminator_a` | D_A       | D_Y   | judges domain B images (G_A's outputs)         |
| `discriminator_b` | D_B       | D_X   | judges domain A images (G_B's outputs)         |

Generator (`ResnetGenerator`): c7s1-ngf, two stride-2 3x3 convolutions, `n_blocks` residual blocks
(reflection padding, no activation after the sum), two stride-2 transposed 3x3 convolutions, c7s1-3, tanh.
Instance norm without affine parameters or running statistics, so convolutions carry biases. The paper
uses 9 blocks at 256 px and 6 at 128 px (11,378,179 and 7,837,699 parameters at ngf 64).
Discriminator (`NLayerDiscriminator`, n_layers 3): C64-C128-C256-C512 4x4 convolutions, LeakyReLU 0.2, no
norm on the first, stride 1 on the last two, a 1-channel logit map (30x30 at 256 px; 2,764,737 parameters).
Weights start as N(0, 0.02), biases at 0, as the reference's `init_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..labels import LabelSpace
from .domains import TWO_GENERATORS, Domains, TwoDomainTranslator
from .spec import ModelSpec


@dataclass(frozen=True)
class CycleGANConfig:
    image_size: int = 256
    ngf: int = 64  # channels of the generators' first layer
    ndf: int = 64  # channels of the discriminators' first layer
    n_blocks: int = 9  # residual blocks: the paper's 9 at 256 px, 6 at 128 px
    n_layers_d: int = 3  # stride-2 layers of the PatchGAN (3: 70x70 receptive field)
    # the two domains, A first, as --to names of the dataset (models/domains.py); empty: the two classes
    # of a two-class dataset such as a CycleGAN folder (horse, zebra)
    domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("image_size", "ngf", "ndf", "n_blocks", "n_layers_d"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        if self.image_size % 4:
            raise ConfigError(
                f"model.image_size {self.image_size} must be a multiple of 4 (two stride-2 stages)"
            )
        if self.image_size < 2**self.n_layers_d * 4:
            raise ConfigError(
                f"model.image_size {self.image_size} is too small for a {self.n_layers_d}-layer PatchGAN; "
                f"use at least {2**self.n_layers_d * 4} px or lower model.n_layers_d"
            )


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """x (B,3,H,W) in [-1, 1] -> the other domain (B,3,H,W) in [-1, 1]; H and W multiples of 4."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        ngf = config.ngf
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1), _norm(c * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(config.n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), _norm(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """x (B,3,H,W) -> a logit map (B,1,h,w): 30x30 at 256 px with 3 layers."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        ndf, n = config.ndf, config.n_layers_d
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for i in range(1, n + 1):
            previous, mult = mult, min(2**i, 8)
            stride = 2 if i < n else 1
            layers += [
                nn.Conv2d(ndf * previous, ndf * mult, 4, stride, 1),
                _norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_normal(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """The reference's `init_weights(net, 'normal', 0.02)`: convolution weights N(0, gain), biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


NETWORKS = ("generator", "generator_b", "discriminator_a", "discriminator_b")


def build(config: CycleGANConfig, label_space: LabelSpace) -> dict[str, nn.Module]:
    Domains.resolve(config.domains, label_space)  # a bad model.domains fails before any training
    return {
        "generator": init_normal(ResnetGenerator(config)),
        "generator_b": init_normal(ResnetGenerator(config)),
        "discriminator_a": init_normal(NLayerDiscriminator(config)),
        "discriminator_b": init_normal(NLayerDiscriminator(config)),
    }


MODEL = ModelSpec(
    config=CycleGANConfig,
    networks=NETWORKS,
    build=build,
    exported=("generator", "generator_b"),
    needed=("generator",),  # an imported released generator translates one way only
    translator=TwoDomainTranslator.for_model,
    signatures=TWO_GENERATORS,
    multiple=lambda config: 4,  # two stride-2 stages
)
