"""U-GAT-IT (Kim et al., ICLR 2020): generators with CAM attention and AdaLIN, global and local discriminators
with their own CAM, in the layout of the PyTorch reimplementation (`znxlwm/UGATIT-pytorch`), so its
`*_params_*.pt` files load by name (imports/ugatit.py).

| here                 | reference | what it does                                            |
|----------------------|-----------|---------------------------------------------------------|
| `generator`          | genA2B    | domain A -> domain B (the entry file)                   |
| `generator_b`        | genB2A    | domain B -> domain A                                    |
| `discriminator_ga`   | disGA     | global (7-layer) D of domain A: judges genB2A's outputs |
| `discriminator_la`   | disLA     | local (5-layer) D of domain A                           |
| `discriminator_gb`   | disGB     | global D of domain B: judges genA2B's outputs           |
| `discriminator_lb`   | disLB     | local D of domain B                                     |

Generator: encoder (c7s1-ngf, two stride-2 3x3 stages, `n_blocks` residual blocks, instance norm without
affine parameters, reflection padding, no biases), then CAM: a bias-free linear on the global average and
one on the global max pooling give two logits (the auxiliary domain classifier) and their weight vectors
scale the channels; the two scaled maps, concatenated, go through a 1x1 convolution and ReLU. Their
channel sum is the attention heatmap. An MLP makes AdaLIN's gamma and beta from the attended map: `full`
flattens all of it (the first linear has (size/4)^2 * 4 ngf * 4 ngf weights: 268 M at 256 px), `light`
pools it first. Decoder: `n_blocks` residual blocks with AdaLIN (every one with the same gamma and beta),
two stages of nearest x2 upsampling, 3x3 convolution and ILN, then c7s1-3 and tanh.

AdaLIN mixes instance norm (per sample and channel over H, W) and layer norm (per sample over C, H, W):
rho a_I + (1 - rho) a_L, then gamma and beta; rho is learnt per channel (0.9 at the start in AdaLIN, 0 in
ILN, whose gamma and beta are learnt parameters) and clipped to [0, 1] after every generator update.

Discriminator (`n_layers` 7 global, 5 local): reflection-padded 4x4 convolutions with spectral norm and
LeakyReLU 0.2, `n_layers - 2` of stride 2 then one of stride 1, each doubling the channels; a CAM as the
generator's (spectral-normed linears) with a LeakyReLU after its 1x1 convolution; a last 4x4 convolution
to one channel. It returns the patch logits, the CAM logits and the heatmap. Parameters (ngf = ndf = 64,
4 blocks, 256 px): G full 278,959,808, G light 10,589,888, global D 53,130,176, local D 3,290,560.

The TensorFlow original differs in places the facts file lists; four are settings here, each with the
PyTorch reimplementation's behaviour as default:
- `variance`: AdaLIN/ILN statistics "unbiased" (torch.var) or "population" (tf.nn.moments);
- `cam_weights`: the discriminators' channel weights "raw" (the linear's weight before spectral norm, as
  the PyTorch code reads it) or "normalized" (TF's);
- `rho_smoothing`: TF's AdaLIN starts rho at 1 and uses clip(rho - 0.1, 0, 1), so pure instance norm is
  never reached (false: rho starts at 0.9 and is used as it is);
- `init`: "default" (PyTorch's layer defaults, as the reimplementation) or "normal" (N(0, 0.02) weights and
  zero biases for every convolution and linear, TF's and the paper's).
- `layout`: "pytorch" (the reimplementation's parameters, which its files load into) or "tensorflow":
  biases on the generators' convolutions and MLP, one CAM linear with a bias shared by the average and the
  max pooling (its bias added to the channel weights too), affine instance norms in the encoder.
Weight decay is the same in both (TF's l2_regularizer adds wd * w to the gradient, as Adam's weight_decay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError, ImageError
from ..labels import LabelSpace
from .domains import TWO_GENERATORS, Domains, TwoDomainTranslator
from .spec import ModelSpec

VARIANTS = ("light", "full")
VARIANCES = ("unbiased", "population")
CAM_WEIGHTS = ("raw", "normalized")
INITS = ("default", "normal")
LAYOUTS = ("pytorch", "tensorflow")


@dataclass(frozen=True)
class UGATITConfig:
    image_size: int = 256
    ngf: int = 64  # channels of the generators' first layer
    ndf: int = 64  # channels of the discriminators' first layer
    n_blocks: int = 4  # residual blocks in the encoder, and AdaLIN blocks in the decoder
    variant: str = "light"  # "full": the MLP reads the whole attended map (268 M weights at 256 px)
    n_layers_global: int = 7  # the global discriminators (receptive field 286 px)
    n_layers_local: int = 5  # the local discriminators (70 px)
    variance: str = "unbiased"  # AdaLIN/ILN statistics: "unbiased" (PyTorch code) or "population" (TF)
    cam_weights: str = "raw"  # D's CAM channel weights: "raw" (PyTorch code) or "normalized" (TF)
    rho_smoothing: bool = False  # TF: AdaLIN's rho starts at 1 and is used as clip(rho - 0.1, 0, 1)
    init: str = "default"  # "default" (PyTorch's layer defaults) or "normal" (N(0, 0.02), TF and the paper)
    layout: str = "pytorch"  # "tensorflow": biases, one shared CAM linear, affine encoder norms (TF's)
    # the two domains, A first, as --to names of the dataset (models/domains.py); empty: the two classes
    domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("image_size", "ngf", "ndf", "n_blocks"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        for name in ("n_layers_global", "n_layers_local"):
            if getattr(self, name) < 3:
                raise ConfigError(f"model.{name} must be at least 3, got {getattr(self, name)}")
        choices = (
            ("variant", VARIANTS),
            ("variance", VARIANCES),
            ("cam_weights", CAM_WEIGHTS),
            ("init", INITS),
            ("layout", LAYOUTS),
        )
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"model.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if self.image_size % 4:
            raise ConfigError(
                f"model.image_size {self.image_size} must be a multiple of 4 (two stride-2 stages)"
            )
        smallest = 2 ** (max(self.n_layers_global, self.n_layers_local) - 2) * 4
        if self.image_size < smallest:
            raise ConfigError(
                f"model.image_size {self.image_size} is too small for a {self.n_layers_global}-layer global "
                f"discriminator; use at least {smallest} px or lower model.n_layers_global"
            )


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, bias: bool = False) -> list[nn.Module]:
    """Reflection padding, then a convolution (the reference pads before every convolution)."""
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride, 0, bias=bias)]


def mixed_norm(x: torch.Tensor, rho: torch.Tensor, eps: float, unbiased: bool) -> torch.Tensor:
    """rho * instance-normalised x + (1 - rho) * layer-normalised x (rho (1, C, 1, 1))."""
    per_channel = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=int(unbiased))
    per_sample = torch.var_mean(x, dim=(1, 2, 3), keepdim=True, correction=int(unbiased))
    (var_i, mean_i), (var_l, mean_l) = per_channel, per_sample
    instance = (x - mean_i) / torch.sqrt(var_i + eps)
    layer = (x - mean_l) / torch.sqrt(var_l + eps)
    return rho * instance + (1 - rho) * layer


class AdaLIN(nn.Module):
    """AdaLIN: gamma and beta (B, C) come from the generator's MLP."""

    def __init__(
        self, channels: int, unbiased: bool = True, smoothing: bool = False, eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.eps, self.unbiased, self.smoothing = eps, unbiased, smoothing
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 1.0 if smoothing else 0.9))

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        rho = (self.rho - 0.1).clamp(0.0, 1.0) if self.smoothing else self.rho
        out = mixed_norm(x, rho, self.eps, self.unbiased)
        return out * gamma[:, :, None, None] + beta[:, :, None, None]


class ILN(nn.Module):
    """The decoder's upsampling norm: the same mixing with learnt gamma and beta, rho starting at 0."""

    def __init__(self, channels: int, unbiased: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps, self.unbiased = eps, unbiased
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mixed_norm(x, self.rho, self.eps, self.unbiased) * self.gamma + self.beta


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, tf: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            *_conv(channels, channels, 3, bias=tf),
            nn.InstanceNorm2d(channels, affine=tf),
            nn.ReLU(True),
            *_conv(channels, channels, 3, bias=tf),
            nn.InstanceNorm2d(channels, affine=tf),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class AdaLINBlock(nn.Module):
    """The decoder's residual block: conv, AdaLIN, ReLU, conv, AdaLIN, plus the input."""

    def __init__(self, channels: int, unbiased: bool, smoothing: bool, tf: bool = False) -> None:
        super().__init__()
        self.pad1, self.conv1 = _conv(channels, channels, 3, bias=tf)
        self.norm1 = AdaLIN(channels, unbiased, smoothing)
        self.relu1 = nn.ReLU(True)
        self.pad2, self.conv2 = _conv(channels, channels, 3, bias=tf)
        self.norm2 = AdaLIN(channels, unbiased, smoothing)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.norm1(self.conv1(self.pad1(x)), gamma, beta))
        return x + self.norm2(self.conv2(self.pad2(out)), gamma, beta)


def attend(x: torch.Tensor, gap_fc: nn.Linear, gmp_fc: nn.Linear, weights: str = "weight"):
    """CAM: the logits of the average- and max-pooled map, and the map scaled channel-wise by each linear's
    weight vector (`weights`: which tensor of the linear is the weight: "weight", or "weight_orig", the
    spectral-normed linear's weight before normalisation; plus its bias where it has one, as TF's code),
    concatenated (B, 2C, H, W). TF's layout passes one linear as both."""
    logits = torch.cat([gap_fc(x.mean((2, 3))), gmp_fc(x.amax((2, 3)))], dim=1)
    vectors = [getattr(fc, weights)[0] + (fc.bias if fc.bias is not None else 0) for fc in (gap_fc, gmp_fc)]
    scales = [v[None, :, None, None] for v in vectors]
    return logits, torch.cat([x * scales[0], x * scales[1]], dim=1)


def cams(module: nn.Module) -> tuple[nn.Linear, nn.Linear]:
    """The CAM linears of the average and the max pooling: two (PyTorch layout) or one twice (TF's)."""
    if hasattr(module, "cam_fc"):
        return module.cam_fc, module.cam_fc
    return module.gap_fc, module.gmp_fc


class Generator(nn.Module):
    """x (B,3,H,W) in [-1, 1] -> the other domain (B,3,H,W); with `extras`, also the CAM logits (B, 2) and
    the heatmap (B, 1, H/4, W/4). H and W: the configured size for `full` (its MLP reads every pixel),
    any multiple of 4 for `light`."""

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__()
        ngf, unbiased, tf = config.ngf, config.variance == "unbiased", config.layout == "tensorflow"
        wide = ngf * 4
        down: list[nn.Module] = [*_conv(3, ngf, 7, bias=tf), nn.InstanceNorm2d(ngf, affine=tf), nn.ReLU(True)]
        for c in (ngf, ngf * 2):
            down += [*_conv(c, c * 2, 3, 2, bias=tf), nn.InstanceNorm2d(c * 2, affine=tf), nn.ReLU(True)]
        down += [ResnetBlock(wide, tf) for _ in range(config.n_blocks)]
        self.DownBlock = nn.Sequential(*down)
        if tf:
            self.cam_fc = nn.Linear(wide, 1)
        else:
            self.gap_fc = nn.Linear(wide, 1, bias=False)
            self.gmp_fc = nn.Linear(wide, 1, bias=False)
        self.conv1x1 = nn.Conv2d(wide * 2, wide, 1)
        self.relu = nn.ReLU(True)
        self.light, self.size = config.variant == "light", config.image_size
        first = wide if self.light else (config.image_size // 4) ** 2 * wide
        self.FC = nn.Sequential(
            nn.Linear(first, wide, bias=tf),
            nn.ReLU(True),
            nn.Linear(wide, wide, bias=tf),
            nn.ReLU(True),
        )
        self.gamma = nn.Linear(wide, wide, bias=tf)
        self.beta = nn.Linear(wide, wide, bias=tf)
        self.n_blocks = config.n_blocks
        for i in range(config.n_blocks):  # the reference's attribute names: UpBlock1_1, UpBlock1_2, ...
            setattr(self, f"UpBlock1_{i + 1}", AdaLINBlock(wide, unbiased, config.rho_smoothing, tf))
        up: list[nn.Module] = []
        for c in (wide, wide // 2):
            up += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                *_conv(c, c // 2, 3, bias=tf),
                ILN(c // 2, unbiased),
                nn.ReLU(True),
            ]
        up += [*_conv(ngf, 3, 7, bias=tf), nn.Tanh()]
        self.UpBlock2 = nn.Sequential(*up)

    def forward(self, x: torch.Tensor, extras: bool = False):
        if not self.light and x.shape[-2:] != (self.size, self.size):
            raise ImageError(
                f"the full U-GAT-IT generator translates {self.size} px squares only (its MLP reads every "
                f"pixel), not {x.shape[-1]}x{x.shape[-2]}; translate faces or crops without --native"
            )
        h = self.DownBlock(x)
        cam_logits, h = attend(h, *cams(self))
        h = self.relu(self.conv1x1(h))
        heatmap = h.sum(dim=1, keepdim=True)
        style = self.FC(h.mean((2, 3)) if self.light else h.flatten(1))
        gamma, beta = self.gamma(style), self.beta(style)
        for i in range(self.n_blocks):
            h = getattr(self, f"UpBlock1_{i + 1}")(h, gamma, beta)
        out = self.UpBlock2(h)
        return (out, cam_logits, heatmap) if extras else out


class Discriminator(nn.Module):
    """x (B,3,H,W) -> (patch logits (B,1,h,w), CAM logits (B,2), heatmap (B,1,h',w'))."""

    def __init__(self, config: UGATITConfig, n_layers: int) -> None:
        super().__init__()
        ndf = config.ndf
        sn = nn.utils.spectral_norm
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            sn(nn.Conv2d(3, ndf, 4, 2)),
            nn.LeakyReLU(0.2, True),
        ]
        for i in range(1, n_layers - 2):
            c = ndf * 2 ** (i - 1)
            layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(c, c * 2, 4, 2)), nn.LeakyReLU(0.2, True)]
        c = ndf * 2 ** (n_layers - 3)
        layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(c, c * 2, 4, 1)), nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(*layers)
        wide = c * 2
        if config.layout == "tensorflow":
            self.cam_fc = sn(nn.Linear(wide, 1))
        else:
            self.gap_fc = sn(nn.Linear(wide, 1, bias=False))
            self.gmp_fc = sn(nn.Linear(wide, 1, bias=False))
        self.conv1x1 = nn.Conv2d(wide * 2, wide, 1)
        self.leaky_relu = nn.LeakyReLU(0.2, True)
        self.pad = nn.ReflectionPad2d(1)
        self.conv = sn(nn.Conv2d(wide, 1, 4, 1, bias=False))
        self.cam_weights = "weight_orig" if config.cam_weights == "raw" else "weight"

    def forward(self, x: torch.Tensor):
        h = self.model(x)
        cam_logits, h = attend(h, *cams(self), self.cam_weights)
        h = self.leaky_relu(self.conv1x1(h))
        return self.conv(self.pad(h)), cam_logits, h.sum(dim=1, keepdim=True)


NETWORKS = (
    "generator",
    "generator_b",
    "discriminator_ga",
    "discriminator_la",
    "discriminator_gb",
    "discriminator_lb",
)


def init_normal(module: nn.Module) -> nn.Module:
    """TF's and the paper's start: N(0, 0.02) for every convolution and linear weight (before spectral
    norm), zero biases."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            weight = layer.weight_orig if hasattr(layer, "weight_orig") else layer.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def build(config: UGATITConfig, label_space: LabelSpace) -> dict[str, nn.Module]:
    Domains.resolve(config.domains, label_space)  # a bad model.domains fails before any training
    networks = _networks(config)
    return {n: init_normal(net) for n, net in networks.items()} if config.init == "normal" else networks


def _networks(config: UGATITConfig) -> dict[str, nn.Module]:
    return {
        "generator": Generator(config),
        "generator_b": Generator(config),
        "discriminator_ga": Discriminator(config, config.n_layers_global),
        "discriminator_la": Discriminator(config, config.n_layers_local),
        "discriminator_gb": Discriminator(config, config.n_layers_global),
        "discriminator_lb": Discriminator(config, config.n_layers_local),
    }


def clip_rho(networks: Mapping[str, nn.Module]) -> None:
    """After every generator update (the reference's RhoClipper(0, 1) on both generators)."""
    with torch.no_grad():
        for net in networks.values():
            for module in net.modules():
                if isinstance(module, AdaLIN | ILN):
                    module.rho.clamp_(0.0, 1.0)


class AttentionTranslator(TwoDomainTranslator):
    """The two-domain translator, and the generators' CAM heatmaps (PyTorch generators; an ONNX file has
    only the translation)."""

    def attention(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor | None:
        if not all(isinstance(g, Generator) for g in self.into.values() if g is not None):
            return None
        return self.route(x, target, lambda generator, rows: generator(rows, extras=True)[2])


MODEL = ModelSpec(
    config=UGATITConfig,
    networks=NETWORKS,
    build=build,
    exported=("generator", "generator_b"),
    needed=("generator",),
    translator=AttentionTranslator.for_model,
    signatures=TWO_GENERATORS,
    # two stride-2 stages (the full generator also needs exactly its configured size: it says so)
    multiple=lambda config: 4,
    memory_hint=lambda config: (
        'set model.variant = "light" (10.6 M instead of 279 M parameters per generator), '
        if config.variant == "full"
        else ""
    ),
)
