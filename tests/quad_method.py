"""A made-up method with the shape of StarGAN v2, for the tests only (tests/test_method_contract.py): three
optimisers at different learning rates (one a multiplier of train.g_lr, one with its own betas and weight
decay), four phases per step (two of them stepping the same optimiser, one stepping two optimisers, one
stepping only part of what the generator's optimiser holds), a frozen network used by the loss, an EMA
over two networks without the ramp, a reference image and a seed. Registered with
STARGAN_METHODS=tests.quad_method:QUAD (a `stargan serve` process) or by the tests' fixture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from stargan_cli import methods
from stargan_cli.checkpoint import ModelInfo, save_model
from stargan_cli.data.readers.toyfaces import STYLES
from stargan_cli.imports.spec import Importer, ImportRequest
from stargan_cli.imports.weights import load_pickled_tensors
from stargan_cli.inference import model_targets
from stargan_cli.labels import LabelSpace
from stargan_cli.models.domains import Domains
from stargan_cli.models.spec import Guide, ModelSpec, OnnxGraph, Signature
from stargan_cli.objectives.spec import OptimizerSpec, Stateless, TrainingSpec
from stargan_cli.objectives.two_domain import balanced_stream

STYLE = 4
PHASES = ("D latent", "D ref", "G latent", "G ref")


@dataclass(frozen=True)
class QuadConfig:
    image_size: int = 16
    channels: int = 4
    domains: tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair")  # K = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", tuple(self.domains))  # a list when read back from JSON


class QuadGenerator(nn.Module):
    """An image and a style code (B, STYLE) -> an image."""

    def __init__(self, config: QuadConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3 + STYLE, config.channels, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(config.channels, 3, 3, 1, 1), nn.Tanh())  # fmt: skip

    def forward(self, x, style):
        return self.body(torch.cat([x, style[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1))


class QuadMapping(nn.Module):
    """Noise (B, STYLE) and a domain index (B,) int64 -> a style code (StarGAN v2's shape: one output head
    per domain, the row's own picked)."""

    def __init__(self, domains: int) -> None:
        super().__init__()
        self.linear = nn.Linear(STYLE, STYLE * domains)

    def forward(self, z, domain):
        styles = self.linear(z).unflatten(1, (-1, STYLE))  # (B, K, STYLE)
        return styles.gather(1, domain[:, None, None].expand(-1, 1, STYLE)).squeeze(1)


class QuadEncoder(nn.Module):
    """A reference image -> a style code."""

    def __init__(self, config: QuadConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, STYLE, 4, 4)

    def forward(self, x):
        return self.conv(x).mean((2, 3))


def build(config: QuadConfig, space: LabelSpace) -> dict[str, nn.Module]:
    domains = space.generator_dim
    critic = nn.Sequential(nn.Conv2d(3, config.channels, 4, 2, 1), nn.LeakyReLU(0.2),
                           nn.Conv2d(config.channels, domains, 3, 1, 1))  # fmt: skip
    return {
        "generator": QuadGenerator(config),
        "mapping": QuadMapping(domains),
        "encoder": QuadEncoder(config),
        "critic": critic,
        "blur": nn.Conv2d(3, 3, 3, 1, 1, groups=3, bias=False),  # frozen: never trained
    }


class QuadTranslator:
    """Latent-guided (the style of the seed's noise and the target domain) or reference-guided (the style
    the encoder reads from the reference)."""

    def __init__(self, networks, space: LabelSpace, config: QuadConfig) -> None:
        self.networks, self.label_space = networks, space

    def targets(self, dataset):
        return self.label_space.datasets[dataset].attributes

    def covers(self, dataset, source, target):
        return torch.ones(len(target), dtype=torch.bool)

    def translate(self, x, dataset, target, guide=None):
        guide = guide or Guide()
        if guide.reference is not None:
            style = self.networks["encoder"](guide.reference.to(x.dtype)).expand(len(x), -1)
        else:
            domain = target.argmax(1)  # the target's attribute: its domain
            style = self.networks["mapping"](guide.noise(STYLE, x.device, x.dtype).expand(len(x), -1), domain)
        return self.networks["generator"](x, style)

    def columns(self, x, known, attention=False):
        """Its sample grids: per target, two sampled styles (seeds 0 and 1), then the first input's style."""
        source = known.get(0, x.new_zeros(len(x), len(self.label_space.datasets[0].attributes)))
        out = []
        for name, target in model_targets(self, 0, source.float()):
            for label, guide in (
                ("seed 0", Guide(seed=0)),
                ("seed 1", Guide(seed=1)),
                ("ref 1", Guide(x[:1])),
            ):
                out.append((f"{name} {label}", self.translate(x, 0, target, guide)))
        return out

    def read_source(self, x, dataset):  # the source does not matter: the target's domain and a style decide
        return x.new_zeros(len(x), len(self.label_space.datasets[dataset].attributes))

    def attention(self, x, dataset, target):
        return None


def example_generator(config, space, batch, gen):
    return (torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1,
            torch.randn(batch, STYLE, generator=gen))  # fmt: skip


def example_mapping(config, space, batch, gen):
    return torch.randn(batch, STYLE, generator=gen), torch.randint(
        space.generator_dim, (batch,), generator=gen
    )


class LatentPath(nn.Module):
    """The latent-guided path in one ONNX graph: an image, noise and an int64 domain -> the translation."""

    def __init__(self, networks) -> None:
        super().__init__()
        self.generator, self.mapping = networks["generator"], networks["mapping"]

    def forward(self, image, noise, domain):
        return self.generator(image, self.mapping(noise, domain))


class ReferencePath(nn.Module):
    """The reference-guided path in one ONNX graph: an image and a reference (one per row) -> the translation."""

    def __init__(self, networks) -> None:
        super().__init__()
        self.generator, self.encoder = networks["generator"], networks["encoder"]

    def forward(self, image, reference):
        return self.generator(image, self.encoder(reference))


def example_latent(config, space, batch, gen):
    image = torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1
    return image, *example_mapping(config, space, batch, gen)


def example_reference(config, space, batch, gen):
    return tuple(
        torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1 for _ in "ab"
    )


@dataclass(frozen=True)
class QuadLoss:  # no cuda_graph_clashes(): a loss config may leave it out (none)
    lambda_sty: float = 1.0


@dataclass
class QuadBatch:
    x: torch.Tensor
    dataset: int
    target: torch.Tensor  # (B,) the target domain's index
    z: torch.Tensor
    ref: torch.Tensor  # (B, 3, H, W) an image of the target domain (x_ref; the second one is not used)


class QuadObjective(Stateless):
    """Non-saturating adversarial terms on the critic's output for the target domain, style reconstruction;
    each phase records which networks could compute weight gradients while its loss ran."""

    def __init__(self, config: QuadLoss, context) -> None:
        self.config, self.space = config, context.label_space
        self.seen: list[tuple[str, dict[str, bool]]] = []

    def draw(self, rng, rows):
        return rng.standard_normal((rows, STYLE)).astype("float32")

    def batches(self, draws, step):
        """From the class-balanced stream: the row's target domain and its first reference."""
        return [
            QuadBatch(d.x_real, d.dataset, d.target_domains, torch.from_numpy(d.extra), d.references[:, 0])
            for d in draws
        ]

    def phases(self, step):
        return PHASES

    def forward(self, networks, batch, phases):
        return {}

    def loss(self, phase, networks, batch, state, grad_scale=None):
        self.seen.append(
            (phase, {n: any(p.requires_grad for p in net.parameters()) for n, net in networks.items()})
        )
        domain = nn.functional.one_hot(batch.target, self.space.generator_dim).float()
        if phase.endswith("latent"):
            style = networks["mapping"](batch.z, batch.target)
        else:
            style = networks["encoder"](batch.ref)
        fake = networks["blur"](networks["generator"](batch.x, style))

        def critic(x):
            return (networks["critic"](x).mean((2, 3)) * domain).sum(1)

        if phase.startswith("D"):
            d = (
                nn.functional.softplus(-critic(batch.x)).mean()
                + nn.functional.softplus(critic(fake.detach())).mean()
            )
            return d, {f"D/{phase.split()[1]}": d.detach()}
        g = nn.functional.softplus(-critic(fake)).mean()
        g = g + self.config.lambda_sty * (networks["encoder"](fake) - style).abs().mean()
        return g, {f"G/{phase.split()[1]}": g.detach()}


QUAD = methods.Method(
    "quad",
    ModelSpec(
        QuadConfig,
        ("generator", "mapping", "encoder", "critic", "blur"),
        build,
        ("generator", "mapping", "encoder"),
        ("generator", "mapping"),
        QuadTranslator,
        {
            "generator": Signature(("image", "style"), ("translated",), example_generator),
            "mapping": Signature(("noise", "domain"), ("style",), example_mapping),
            "encoder": Signature(
                ("reference",), ("style",), lambda c, s, b, g: (torch.rand(b, 3, 16, 16, generator=g),)
            ),
        },
        guides=("reference", "seed"),
        onnx_graphs={
            "latent": OnnxGraph(
                ("generator", "mapping"),
                LatentPath,
                Signature(("image", "noise", "domain"), ("translated",), example_latent),
            ),
            "reference": OnnxGraph(
                ("generator", "encoder"),
                ReferencePath,
                Signature(("image", "reference"), ("translated",), example_reference),
            ),
        },  # fmt: skip
    ),
    TrainingSpec(
        QuadLoss,
        {
            "generator": OptimizerSpec(("generator", "encoder"), "g_lr"),
            "mapping": OptimizerSpec(("mapping",), "g_lr", lr_scale=0.01),
            "critic": OptimizerSpec(("critic",), "d_lr", betas=(0.0, 0.99), weight_decay=1e-4),
        },
        QuadObjective,
        streams=lambda config, space, labels: balanced_stream(
            Domains.resolve(config.domains, space, count=None), space, labels, references=2
        ),
        averaged=("generator", "mapping"),
        phases={
            "D latent": ("critic",),
            "D ref": ("critic",),
            "G latent": ("generator", "mapping"),
            "G ref": ("generator",),
        },  # fmt: skip
        frozen=("blur",),
        ema_ramp=False,
    ),
)


def convert(request: ImportRequest) -> list[Path]:
    """A "released" file: torch.save({"generator": state, "mapping": state, "encoder": state}), its domains
    the toy CelebA's labels, its image size --image-size."""
    bundle = load_pickled_tensors(request.file)
    config = QuadConfig(image_size=request.image_size or 16)
    space = LabelSpace((STYLES["celeba"],))
    nets = build(config, space)
    written = []
    for role in ("generator", "mapping", "encoder"):
        nets[role].load_state_dict(bundle[role])
        path = request.out / f"{role}.safetensors"
        written.append(save_model(path, nets[role], ModelInfo("quad", config, space, 0, role)))
    return written


IMPORTER = Importer(convert, takes=("image_size",), holds="a quad file holds its three networks",
                    next_flags=lambda r: "--to blond --seed 0")  # fmt: skip
