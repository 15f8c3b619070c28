"""UNIT (Liu et al., NeurIPS 2017): projection to a common space. Per domain a VAE-style encoder and decoder;
an image of A is translated by decoding its code with B's decoder. Layers are those of the reference's
master branch (`mingyuliutw/UNIT`, MUNIT-style `VAEGen` and `MsImageDis`), so its `gen_*.pt` files load by
name (imports/unit.py); the weight sharing is the NeurIPS code's (`version_02`), a setting here.

The networks are the two directions, each a complete translator (so export, ONNX and translate see two
generators, as for CycleGAN):

| here              | reference                 | what it does                                       |
|-------------------|---------------------------|----------------------------------------------------|
| `generator`       | gen_a.enc + gen_b.dec     | domain A -> domain B (the entry file)              |
| `generator_b`     | gen_b.enc + gen_a.dec     | domain B -> domain A                               |
| `discriminator_a` | dis_a                     | judges domain A images (generator_b's outputs)     |
| `discriminator_b` | dis_b                     | judges domain B images                             |
| `latent_discriminator` | (none)               | tells A's codes from B's (loss.latent_adversarial) |

Each direction network's `enc` is its source domain's encoder and `dec` its target domain's decoder, so
A's autoencoder is `generator.enc` + `generator_b.dec`. Encoder: c7s1-dim, `n_downsample` 4x4 stride-2
convolutions, `n_res` residual blocks, all with instance norm (no affine parameters) and ReLU, reflection
padding, biases. Decoder: `n_res` residual blocks, then per stage nearest x2 upsampling, a 5x5 convolution,
the reference's LayerNorm (per sample over C, H, W, divided by the unbiased std + eps, gamma starting
uniform in [0, 1], beta 0) and ReLU; c7s1-3 and tanh. At dim 64, 2 stages and 4 blocks each direction has
11,140,483 parameters (encoder 5,385,856, decoder 5,754,627).

`shared_layers` k: the encoders' last k residual blocks are one module in both directions, and so are the
decoders' first k: the same parameter tensors (the paper's "share the last layers of E1, E2 and the first
layers of G1, G2"). The NeurIPS code shares 1 of each, our default; the reference's master branch shares
none (0), which its released `gen_*.pt` files need.

Instance norms keep no running statistics: every image is normalised by its own, in training and in
translation, as the reference does from PyTorch 0.4 on (its older files carry stored averages, which its
test script drops before loading; so do the imports here).

Discriminator (`MsImageDis`): per scale `dis_layers` 4x4 stride-2 convolutions (dis_dim doubling, no norm,
LeakyReLU 0.2, reflection padding) and a 1x1 convolution to one channel; between scales the image is
average-pooled 3x3 stride 2 (padding not counted). 2,757,057 parameters a scale, 8,271,171 for 3 scales;
outputs 16, 8 and 4 px square at 256 px. The latent discriminator (not in the reference) reads codes:
two 3x3 convolutions (the second stride 2) at the code's width with LeakyReLU 0.2, a 1x1 convolution to one
channel. Init as the reference's trainer: Kaiming normal (fan in) for the generators, N(0, 0.02) for the
discriminators, biases 0.
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
class UNITConfig:
    image_size: int = 256
    dim: int = 64  # channels of the encoders' first layer (the code has dim * 2**n_downsample)
    n_downsample: int = 2
    n_res: int = 4  # residual blocks in each encoder and each decoder
    shared_layers: int = 1  # residual blocks shared by the encoders (last) and the decoders (first)
    dis_dim: int = 64
    dis_layers: int = 4  # stride-2 convolutions per scale
    dis_scales: int = 3
    # the two domains, A first, as --to names of the dataset (models/domains.py); empty: the two classes
    domains: tuple[str, ...] = ()

    # settings of earlier versions: files imported with instance_stats = "running" (stored averages, which
    # the reference itself never normalises with) load, and now translate as the reference does
    RETIRED = {"instance_stats": ("image", "running")}

    def __post_init__(self) -> None:
        for name in ("image_size", "dim", "n_downsample", "n_res", "dis_dim", "dis_layers", "dis_scales"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.shared_layers <= self.n_res:
            raise ConfigError(
                f"model.shared_layers must be between 0 and model.n_res ({self.n_res}), got {self.shared_layers}"
            )
        if self.image_size % 2**self.n_downsample:
            raise ConfigError(
                f"model.image_size {self.image_size} must be a multiple of 2**model.n_downsample "
                f"= {2**self.n_downsample}"
            )
        smallest = 2 ** (self.dis_layers + self.dis_scales - 1)
        if self.image_size < smallest:
            raise ConfigError(
                f"model.image_size {self.image_size} is too small for {self.dis_scales} scales of "
                f"{self.dis_layers}-layer discriminators; use at least {smallest} px or lower "
                "model.dis_scales or model.dis_layers"
            )

    @property
    def code_channels(self) -> int:
        return self.dim * 2**self.n_downsample


class LayerNorm(nn.Module):
    """The reference's LayerNorm: (x - mean) / (std + eps) over C, H, W of each sample, std unbiased, then a
    per-channel gamma (starting uniform in [0, 1]) and beta (0)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.empty(channels).uniform_())
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std, mean = torch.std_mean(x.flatten(1), dim=1)
        x = (x - mean[:, None, None, None]) / (std[:, None, None, None] + self.eps)
        return x * self.gamma[:, None, None] + self.beta[:, None, None]


class ConvBlock(nn.Module):
    """Reflection padding, a convolution with bias, an optional norm and activation (`Conv2dBlock`)."""

    def __init__(self, c_in, c_out, kernel, stride, padding, norm: nn.Module | None, activation) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(padding)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.norm = norm
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x)
        return self.activation(x) if self.activation is not None else x


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(
            ConvBlock(channels, channels, 3, 1, 1, nn.InstanceNorm2d(channels), nn.ReLU(True)),
            ConvBlock(channels, channels, 3, 1, 1, nn.InstanceNorm2d(channels), None),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.model(x)


class ResBlocks(nn.Module):
    def __init__(self, blocks: list[ResBlock]) -> None:
        super().__init__()
        self.model = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Encoder(nn.Module):
    """x (B,3,H,W) -> the code h (B, dim*2^n, H/2^n, W/2^n) (`ContentEncoder`)."""

    def __init__(self, config: UNITConfig, shared: list[ResBlock]) -> None:
        super().__init__()
        dim = config.dim
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, nn.InstanceNorm2d(dim), nn.ReLU(True))]
        for _ in range(config.n_downsample):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, nn.InstanceNorm2d(dim * 2), nn.ReLU(True)))
            dim *= 2
        private = [ResBlock(dim) for _ in range(config.n_res - len(shared))]
        layers.append(ResBlocks(private + shared))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    """A code -> an image in [-1, 1] (`Decoder` with instance-normed residual blocks)."""

    def __init__(self, config: UNITConfig, shared: list[ResBlock]) -> None:
        super().__init__()
        dim = config.code_channels
        private = [ResBlock(dim) for _ in range(config.n_res - len(shared))]
        layers: list[nn.Module] = [ResBlocks(shared + private)]
        for _ in range(config.n_downsample):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                ConvBlock(dim, dim // 2, 5, 1, 2, LayerNorm(dim // 2), nn.ReLU(True)),
            ]
            dim //= 2
        layers.append(ConvBlock(dim, 3, 7, 1, 3, None, nn.Tanh()))
        self.model = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.model(h)


class Generator(nn.Module):
    """One direction: the source domain's encoder and the target domain's decoder. `part` picks what runs
    (training reaches each half through the module's own call, so DDP sees every use): "translate" decodes
    the code itself (the reference's test time, no noise), "encode" returns the code, "decode" decodes x
    as a code."""

    def __init__(self, enc: Encoder, dec: Decoder) -> None:
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, x: torch.Tensor, part: str = "translate") -> torch.Tensor:
        if part == "encode":
            return self.enc(x)
        if part == "decode":
            return self.dec(x)
        return self.dec(self.enc(x))


class MultiScaleDiscriminator(nn.Module):
    """x (B,3,H,W) -> a list of logit maps, one per scale, finest first (`MsImageDis`)."""

    def __init__(self, config: UNITConfig) -> None:
        super().__init__()
        self.cnns = nn.ModuleList(self._scale(config) for _ in range(config.dis_scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    @staticmethod
    def _scale(config: UNITConfig) -> nn.Sequential:
        dim = config.dis_dim
        layers: list[nn.Module] = [ConvBlock(3, dim, 4, 2, 1, None, nn.LeakyReLU(0.2, True))]
        for _ in range(config.dis_layers - 1):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, None, nn.LeakyReLU(0.2, True)))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for i, cnn in enumerate(self.cnns):
            if i:
                x = self.downsample(x)
            outputs.append(cnn(x))
        return outputs


class LatentDiscriminator(nn.Module):
    """A code (B, C, h, w) -> a logit map: which domain's encoder made it (loss.latent_adversarial)."""

    def __init__(self, config: UNITConfig) -> None:
        super().__init__()
        c = config.code_channels
        self.model = nn.Sequential(
            ConvBlock(c, c, 3, 1, 1, None, nn.LeakyReLU(0.2, True)),
            ConvBlock(c, c, 3, 2, 1, None, nn.LeakyReLU(0.2, True)),
            nn.Conv2d(c, 1, 1),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.model(h)


def init_weights(module: nn.Module, kind: str) -> nn.Module:
    """The reference's `weights_init`: "kaiming" (normal, fan in, gain sqrt 2) or "gaussian" (N(0, 0.02)) for
    every convolution weight, biases 0; LayerNorm keeps its own start."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            if kind == "kaiming":
                nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in")
            else:
                nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)
    return module


NETWORKS = ("generator", "generator_b", "discriminator_a", "discriminator_b", "latent_discriminator")


def build(config: UNITConfig, label_space: LabelSpace) -> dict[str, nn.Module]:
    Domains.resolve(config.domains, label_space)  # a bad model.domains fails before any training
    k, channels = config.shared_layers, config.code_channels
    enc_shared = [ResBlock(channels) for _ in range(k)]
    dec_shared = [ResBlock(channels) for _ in range(k)]
    enc_a, enc_b = Encoder(config, enc_shared), Encoder(config, enc_shared)
    dec_a, dec_b = Decoder(config, dec_shared), Decoder(config, dec_shared)
    return {
        "generator": init_weights(Generator(enc_a, dec_b), "kaiming"),
        "generator_b": init_weights(Generator(enc_b, dec_a), "kaiming"),
        "discriminator_a": init_weights(MultiScaleDiscriminator(config), "gaussian"),
        "discriminator_b": init_weights(MultiScaleDiscriminator(config), "gaussian"),
        "latent_discriminator": init_weights(LatentDiscriminator(config), "gaussian"),
    }


MODEL = ModelSpec(
    config=UNITConfig,
    networks=NETWORKS,
    build=build,
    exported=("generator", "generator_b"),
    needed=("generator",),
    translator=TwoDomainTranslator.for_model,
    signatures=TWO_GENERATORS,
    multiple=lambda config: 2**config.n_downsample,
)
