"""StarGAN v2's networks (Choi et al., CVPR 2020), in the layout of its reference code (clovaai/stargan-v2)
so that its released state_dicts load by name: the generator (an encoder of residual blocks, a decoder of
AdaIN residual blocks driven by a style code, and with `w_hpf` > 0 a high-pass skip from the encoder),
the mapping network (noise -> a style code per domain), the style encoder (image -> a style code per
domain) and the discriminator (one real/fake logit per domain).

Widths: the first layer has `2**14 // image_size` channels (64 at 256 px), doubling at each downsampling up
to `max_conv_dim` (512). A 32 px model therefore starts at 512 channels: `dim_in` overrides the first width
for small images (None: the reference's rule). The parameter counts and state_dict keys equal those of
the reference's code (tests/test_stargan_v2.py holds its measured figures, e.g. CelebA-HQ's generator
43,467,395 parameters).

Reference quirks kept on purpose: with w_hpf > 0 the decoder blocks drop their shortcut (and the 1/sqrt(2)),
but a narrowing block still holds its unused 1x1 shortcut conv (the released files have it); the high-pass
filter is a buffer `hpf.filter` (files written before April 2021 lack it: it is a constant, rebuilt here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, LabelError
from ..labels import LabelSpace
from .domains import Domains
from .spec import Guide, ModelSpec, OnnxGraph, Signature

SQRT2 = math.sqrt(2)


class ResBlk(nn.Module):
    """Pre-activation residual block of the encoder, style encoder and discriminator: [IN] LReLU conv3x3
    [avgpool] [IN] LReLU conv3x3, plus a shortcut (1x1 conv when the width changes, then the pool)."""

    def __init__(self, dim_in: int, dim_out: int, normalize: bool = False, downsample: bool = False) -> None:
        super().__init__()
        self.actv = nn.LeakyReLU(0.2)
        self.normalize, self.downsample = normalize, downsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.learned_sc:
            x = self.conv1x1(x)
        return F.avg_pool2d(x, 2) if self.downsample else x

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = self.norm1(x)
        x = self.conv1(self.actv(x))
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        if self.normalize:
            x = self.norm2(x)
        return self.conv2(self.actv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self._shortcut(x) + self._residual(x)) / SQRT2


class AdaIN(nn.Module):
    """(1 + gamma) * IN(x) + beta, gamma and beta (the first and second half) from the style code."""

    def __init__(self, style_dim: int, channels: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.fc = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fc(s)[:, :, None, None].chunk(2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlk(nn.Module):
    """Decoder block: AdaIN LReLU [nearest x2] conv3x3 AdaIN LReLU conv3x3; with w_hpf > 0 the residual
    alone, else (residual + shortcut) / sqrt(2), the shortcut [nearest x2] then a 1x1 conv if narrowing."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int, w_hpf: float, upsample: bool) -> None:
        super().__init__()
        self.w_hpf, self.upsample = w_hpf, upsample
        self.actv = nn.LeakyReLU(0.2)
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN(style_dim, dim_in)
        self.norm2 = AdaIN(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv1x1(x) if self.learned_sc else x

    def _residual(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x = self.actv(self.norm1(x, s))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        return self.conv2(self.actv(self.norm2(x, s)))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        out = self._residual(x, s)
        return out if self.w_hpf > 0 else (out + self._shortcut(x)) / SQRT2


class HighPass(nn.Module):
    """A depthwise 3x3 Laplacian-like filter, divided by w_hpf (the reference's code, whatever its comment
    says)."""

    def __init__(self, w_hpf: float) -> None:
        super().__init__()
        kernel = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]]) / w_hpf
        self.register_buffer("filter", kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.filter[None, None].repeat(x.size(1), 1, 1, 1).to(x.dtype)
        return F.conv2d(x, weight, padding=1, groups=x.size(1))


def first_width(image_size: int, dim_in: int | None) -> int:
    return dim_in if dim_in is not None else 2**14 // image_size


class Generator(nn.Module):
    def __init__(
        self,
        image_size: int = 256,
        style_dim: int = 64,
        max_conv_dim: int = 512,
        w_hpf: float = 1.0,
        dim_in: int | None = None,
        residual: bool = False,
    ) -> None:
        super().__init__()
        dim_in = first_width(image_size, dim_in)
        self.image_size, self.w_hpf, self.residual = image_size, w_hpf, residual
        self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
        self.to_rgb = nn.Sequential(
            nn.InstanceNorm2d(dim_in, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim_in, 3, 1, 1, 0)
        )
        repeat = int(math.log2(image_size)) - 4 + (1 if w_hpf > 0 else 0)
        dim_out = dim_in  # 16 px without the high-pass: no downsampling (the reference's code fails there)
        for _ in range(repeat):  # down, and the mirror-image decoder block in front of the others
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encode.append(ResBlk(dim_in, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_in, style_dim, w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):  # the bottleneck
            self.encode.append(ResBlk(dim_out, dim_out, normalize=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_out, style_dim, w_hpf, upsample=False))
        if w_hpf > 0:
            self.hpf = HighPass(w_hpf)
        if residual:
            self.start_as_identity()

    def start_as_identity(self) -> None:
        """A residual generator's output is a change to its input: its last convolution starts at zero."""
        nn.init.zeros_(self.to_rgb[2].weight)
        nn.init.zeros_(self.to_rgb[2].bias)

    def forward(self, x: torch.Tensor, s: torch.Tensor, masks=None) -> torch.Tensor:
        """`masks`: the FAN's two heatmaps (B, 1, H, W) for the high-pass skip, or None (no skip)."""
        source, x = x, self.from_rgb(x)
        cache = {}
        for block in self.encode:
            if masks is not None and x.size(2) in (32, 64, 128):
                cache[x.size(2)] = x
            x = block(x)
        for block in self.decode:
            x = block(x, s)
            if masks is not None and x.size(2) in (32, 64, 128):
                mask = masks[0] if x.size(2) == 32 else masks[1]
                mask = F.interpolate(mask, size=x.size(2), mode="bilinear")
                x = x + self.hpf(mask * cache[x.size(2)])
        return source + self.to_rgb(x) if self.residual else self.to_rgb(x)


def _pick(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, D, ...) per-domain outputs -> each row's own domain's (B, ...) (a gather: the same numbers as
    indexing with arange, and an ONNX graph that keeps its batch size free)."""
    index = y.long().view(-1, 1, *([1] * (out.dim() - 2))).expand(-1, 1, *out.shape[2:])
    return out.gather(1, index).squeeze(1)


class MappingNetwork(nn.Module):
    """Noise (B, latent_dim) and a domain index (B,) -> a style code (B, style_dim): four shared 512-wide
    ReLU layers, then per domain three more and a linear head."""

    def __init__(self, latent_dim: int = 16, style_dim: int = 64, num_domains: int = 2) -> None:
        super().__init__()
        layers = [nn.Linear(latent_dim, 512), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(512, 512), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList(
            nn.Sequential(
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, style_dim),
            )  # fmt: skip
            for _ in range(num_domains)
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.shared(z)
        return _pick(torch.stack([head(h) for head in self.unshared], dim=1), y)


def _trunk(image_size: int, max_conv_dim: int, dim_in: int | None) -> tuple[list[nn.Module], int]:
    """The style encoder's and discriminator's shared layers: conv3x3, log2(size) - 2 downsampling blocks
    (no norm), LReLU, a 4x4 valid conv to 1x1, LReLU; and the final width."""
    dim_in = first_width(image_size, dim_in)
    layers: list[nn.Module] = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    for _ in range(int(math.log2(image_size)) - 2):
        dim_out = min(dim_in * 2, max_conv_dim)
        layers.append(ResBlk(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    layers += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
    return layers, dim_out


class StyleEncoder(nn.Module):
    """An image and a domain index -> that domain's style code of the image."""

    def __init__(
        self,
        image_size: int = 256,
        style_dim: int = 64,
        num_domains: int = 2,
        max_conv_dim: int = 512,
        dim_in: int | None = None,
    ) -> None:
        super().__init__()
        layers, width = _trunk(image_size, max_conv_dim, dim_in)
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList(nn.Linear(width, style_dim) for _ in range(num_domains))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.shared(x).flatten(1)
        return _pick(torch.stack([head(h) for head in self.unshared], dim=1), y)


class Discriminator(nn.Module):
    """An image and a domain index -> the real/fake logit of that domain (B,)."""

    def __init__(
        self, image_size: int = 256, num_domains: int = 2, max_conv_dim: int = 512, dim_in: int | None = None
    ) -> None:
        super().__init__()
        layers, width = _trunk(image_size, max_conv_dim, dim_in)
        self.main = nn.Sequential(*layers, nn.Conv2d(width, num_domains, 1, 1, 0))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _pick(self.main(x).flatten(1), y)


# ----- the method's model spec ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StarGANv2Config:
    """The `[model]` section of a StarGAN v2 recipe; defaults are the reference's (AFHQ's w_hpf 0)."""

    image_size: int = 256
    # the K domains, as --to names of the dataset (models/domains.py); empty: every class of a single-label
    # dataset (AFHQ's cat, dog, wild)
    domains: tuple[str, ...] = ()
    style_dim: int = 64
    latent_dim: int = 16
    max_conv_dim: int = 512
    w_hpf: float = 0.0  # 1 for CelebA-HQ: the high-pass skip, which needs the landmark network's masks
    dim_in: int | None = None  # the first layer's width; None: 2**14 // image_size, the reference's
    # not the reference's: the generator outputs a change to its input and starts as the identity (the toy
    # recipe's; docs/experiments.md); the same weights and names, so a residual model cannot load the
    # reference's files as they are meant
    residual: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", tuple(self.domains))  # a list when read from JSON or TOML
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ConfigError(f"model.image_size must be a power of two of 16 or more, got {self.image_size}")
        for name in ("style_dim", "latent_dim", "max_conv_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        if self.dim_in is not None and self.dim_in < 1:
            raise ConfigError(f"model.dim_in must be positive (or left out), got {self.dim_in}")
        if self.w_hpf < 0:
            raise ConfigError(f"model.w_hpf must be 0 (no high-pass skip) or more, got {self.w_hpf}")


NETWORKS = ("generator", "mapping_network", "style_encoder", "discriminator")


def domains_of(config: StarGANv2Config, label_space: LabelSpace) -> Domains:
    return Domains.resolve(config.domains, label_space, count=None)


def he_init(module: nn.Module) -> None:
    """The reference's initialisation (core/utils.py he_init, applied to every network it trains): He normal
    (fan in, ReLU gain) for convolutions and linear layers, zero biases; instance norms keep (1, 0)."""
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def build(config: StarGANv2Config, label_space: LabelSpace) -> dict[str, nn.Module]:
    """The four networks, initialised as the reference initialises them (its moving averages then start
    from PyTorch's default initialisation, a quirk not kept: ours start as copies of the networks)."""
    k = domains_of(config, label_space).count  # a bad model.domains fails before any training
    c = config
    networks = {
        "generator": Generator(c.image_size, c.style_dim, c.max_conv_dim, c.w_hpf, c.dim_in, c.residual),
        "mapping_network": MappingNetwork(c.latent_dim, c.style_dim, k),
        "style_encoder": StyleEncoder(c.image_size, c.style_dim, k, c.max_conv_dim, c.dim_in),
        "discriminator": Discriminator(c.image_size, k, c.max_conv_dim, c.dim_in),
    }
    for network in networks.values():
        network.apply(he_init)
    if c.residual:
        networks["generator"].start_as_identity()
    return networks


class StarGANv2Translator:
    """What translates (models/spec.py): the target's domain, and a style from the seed's noise through the
    mapping network, or from a reference through the style encoder. The source does not matter (zeros)."""

    def __init__(self, networks, label_space: LabelSpace, config: StarGANv2Config) -> None:
        self.networks, self.label_space, self.config = networks, label_space, config
        self.domains = domains_of(config, label_space)

    def domain(self, target: torch.Tensor) -> torch.Tensor:
        """Each row's target domain index; a target in none of them is one error naming them."""
        index = torch.from_numpy(self.domains.index(target.detach().float().cpu().numpy())).to(target.device)
        if bool((index < 0).any()):
            raise LabelError(f"this model translates to {', '.join(d.label for d in self.domains.members)}; "
                             "name one of them with --to")  # fmt: skip
        return index

    def style(self, x: torch.Tensor, y: torch.Tensor, guide: Guide | None) -> torch.Tensor:
        guide = guide or Guide()
        if guide.reference is not None:
            ref = guide.reference.to(x.device, x.dtype)
            return self.networks["style_encoder"](ref.expand(len(x), -1, -1, -1), y)
        noise = guide.noise(self.config.latent_dim, x.device, x.dtype).expand(len(x), -1)
        return self.networks["mapping_network"](noise, y)

    def translate(self, x, dataset, target, guide: Guide | None = None) -> torch.Tensor:
        y = self.domain(target)
        return self.networks["generator"](x, self.style(x, y, guide)).clamp(-1, 1)

    def read_source(self, x, dataset):
        return x.new_zeros(len(x), len(self.label_space.datasets[dataset].attributes))

    def targets(self, dataset):
        return self.domains.target_names()

    def covers(self, dataset, source, target):
        return self.domains.covers(source, target)

    def attention(self, x, dataset, target):
        return None

    def controls(self, dataset: int) -> list[dict]:
        """The serve page's control: one choice among the model's domains (not every attribute of the data)."""
        options = [{"label": d.label, "to": d.label} for d in self.domains.members]
        return [{"kind": "choice", "label": "domain", "options": options, "strength": False}]

    def columns(self, x, known, attention=False):
        """Per target domain: three sampled styles (seeds 0, 1, 2) and the style of the first input."""
        source = known.get(0, self.read_source(x, 0))
        out = []
        names = self.targets(0)
        for name, target in [
            (n, t) for n, t in self.label_space.single_targets(0, source.float()) if n in names
        ]:
            for label, guide in [(f"seed {k}", Guide(seed=k)) for k in range(3)] + [("ref 1", Guide(x[:1]))]:
                out.append((f"{name} {label}", self.translate(x, 0, target, guide)))
        return out


def _examples(role: str):
    def inputs(config: StarGANv2Config, label_space: LabelSpace, batch: int, gen: torch.Generator):
        k = domains_of(config, label_space).count
        image = torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1
        domain = torch.randint(k, (batch,), generator=gen)
        if role == "generator":
            return image, torch.randn(batch, config.style_dim, generator=gen)
        if role == "mapping_network":
            return torch.randn(batch, config.latent_dim, generator=gen), domain
        return image, domain

    return inputs


class LatentPath(nn.Module):
    """The latent-guided path as one ONNX graph: image, noise (B, latent_dim), domain (B,) int64."""

    def __init__(self, networks) -> None:
        super().__init__()
        self.generator, self.mapping_network = networks["generator"], networks["mapping_network"]

    def forward(self, image, noise, domain):
        return self.generator(image, self.mapping_network(noise, domain)).clamp(-1, 1)


class ReferencePath(nn.Module):
    """The reference-guided path as one ONNX graph: image, reference (one per row), domain (B,) int64."""

    def __init__(self, networks) -> None:
        super().__init__()
        self.generator, self.style_encoder = networks["generator"], networks["style_encoder"]

    def forward(self, image, reference, domain):
        return self.generator(image, self.style_encoder(reference, domain)).clamp(-1, 1)


def _path_examples(role: str):
    def inputs(config: StarGANv2Config, label_space: LabelSpace, batch: int, gen: torch.Generator):
        image, domain = _examples("style_encoder")(config, label_space, batch, gen)
        if role == "latent":
            return image, torch.randn(batch, config.latent_dim, generator=gen), domain
        return image, torch.rand(image.shape, generator=gen) * 2 - 1, domain

    return inputs


MODEL = ModelSpec(
    config=StarGANv2Config,
    networks=NETWORKS,
    build=build,
    exported=("generator", "mapping_network", "style_encoder"),
    needed=("generator", "mapping_network", "style_encoder"),
    translator=StarGANv2Translator,
    signatures={
        "generator": Signature(("image", "style"), ("translated",), _examples("generator")),
        "mapping_network": Signature(("noise", "domain"), ("style",), _examples("mapping_network")),
        "style_encoder": Signature(("image", "domain"), ("style",), _examples("style_encoder")),
    },
    multiple=lambda config: 2 ** (int(math.log2(config.image_size)) - 4 + (1 if config.w_hpf > 0 else 0)),
    guides=("reference", "seed"),
    onnx_graphs={
        "latent": OnnxGraph(
            ("generator", "mapping_network"),
            LatentPath,
            Signature(("image", "noise", "domain"), ("translated",), _path_examples("latent")),
        ),
        "reference": OnnxGraph(
            ("generator", "style_encoder"),
            ReferencePath,
            Signature(("image", "reference", "domain"), ("translated",), _path_examples("reference")),
        ),
    },  # fmt: skip
)
