"""The StarGAN v2 objective (Choi et al., CVPR 2020), as its reference code computes it (core/solver.py).

Each step runs four phases on one class-balanced batch (train/stream.py BalancedStream: x_real of domain
y_org, two references x_ref, x_ref2 of a random target domain y_trg) and two noise draws z_trg, z_trg2:
- "D latent" and "D ref" step the discriminator: BCE(D(x_real, y_org), 1) + BCE(D(G(x_real, s), y_trg), 0)
  + lambda_reg * R1 on the real images, with s = F(z_trg, y_trg) or E(x_ref, y_trg), the fake made without
  a graph;
- "G latent" steps the generator, the mapping network and the style encoder; "G ref" the generator only
  (the reference's choice: training the encoder with these losses degraded it): BCE(D(x_fake, y_trg), 1)
  + lambda_sty * |E(x_fake, y_trg) - s| - lambda_ds * |x_fake - x_fake2| (x_fake2 from the second noise or
  reference, detached) + lambda_cyc * |G(x_fake, E(x_real, y_org)) - x_real|.
lambda_ds decays linearly from its setting to 0 over ds_iter steps. All L1 terms are element means.

Logs: D/latent_real, D/latent_fake, D/latent_reg, D/ref_*, G/latent_adv, G/latent_sty, G/latent_ds,
G/latent_cyc, G/ref_*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import losses
from ..errors import ConfigError
from ..models.stargan_v2 import domains_of
from .spec import ObjectiveContext, OptimizerSpec, Stateless, TrainingSpec
from .two_domain import balanced_stream

PHASES = ("D latent", "D ref", "G latent", "G ref")


@dataclass(frozen=True)
class StarGANv2Loss:
    """The `[loss]` section of a StarGAN v2 recipe; defaults are the reference's (AFHQ's README uses
    lambda_ds 2)."""

    lambda_reg: float = 1.0  # R1 on real images
    lambda_cyc: float = 1.0
    lambda_sty: float = 1.0
    lambda_ds: float = 1.0  # diversity sensitive, decaying to 0 over ds_iter steps
    ds_iter: int = 100_000

    def __post_init__(self) -> None:
        for name in ("lambda_reg", "lambda_cyc", "lambda_sty", "lambda_ds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be 0 or more, got {getattr(self, name)}")
        if self.ds_iter < 1:
            raise ConfigError(f"loss.ds_iter must be at least 1, got {self.ds_iter}")


@dataclass
class StarGANv2Batch:
    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    y_org: torch.Tensor  # (B,) its domains
    y_trg: torch.Tensor  # (B,) the target domains
    x_ref: torch.Tensor  # (B, 3, H, W) of y_trg
    x_ref2: torch.Tensor
    z_trg: torch.Tensor  # (B, latent_dim) N(0, 1)
    z_trg2: torch.Tensor
    lambda_ds: float  # this step's diversity weight


class StarGANv2Objective(Stateless):
    def __init__(self, config: StarGANv2Loss, context: ObjectiveContext) -> None:
        self.config, self.context = config, context
        self.latent_dim = context.model.latent_dim if context.model is not None else 16
        if context.model is not None and context.model.w_hpf > 0:
            raise ConfigError(
                "model.w_hpf > 0 trains with masks from the landmark network of wing.ckpt, which this stargan "
                "does not run yet; set model.w_hpf = 0 (the AFHQ setting)"
            )

    def draw(self, rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """z_trg, then z_trg2."""
        return tuple(rng.standard_normal((rows, self.latent_dim)).astype(np.float32) for _ in range(2))

    def batches(self, draws, step: int) -> list[StarGANv2Batch]:
        weight = self.config.lambda_ds * max(0.0, 1 - (step - 1) / self.config.ds_iter)
        out = []
        for d in draws:
            z1, z2 = (torch.from_numpy(z).to(d.x_real.device) for z in d.extra)
            refs = d.references
            out.append(
                StarGANv2Batch(d.x_real, d.domains, d.target_domains, refs[:, 0], refs[:, 1], z1, z2, weight)
            )
        return out

    def phases(self, step: int) -> tuple[str, ...]:
        return PHASES

    def forward(self, networks, batch: StarGANv2Batch, phases: tuple[str, ...]) -> dict:
        return {}

    def loss(self, phase: str, networks, batch: StarGANv2Batch, state: dict, grad_scale=None):
        mode = phase.split()[1]
        if phase.startswith("D"):
            return self.discriminator_loss(networks, batch, mode, grad_scale)
        return self.generator_loss(networks, batch, mode)

    def _style(self, networks, batch: StarGANv2Batch, mode: str, second: bool = False) -> torch.Tensor:
        if mode == "latent":
            return networks["mapping_network"](batch.z_trg2 if second else batch.z_trg, batch.y_trg)
        return networks["style_encoder"](batch.x_ref2 if second else batch.x_ref, batch.y_trg)

    def discriminator_loss(self, networks, batch: StarGANv2Batch, mode: str, grad_scale=None):
        d = networks["discriminator"]
        x_real = batch.x_real.detach().requires_grad_(True)
        out = d(x_real, batch.y_org)
        logs = {f"D/{mode}_real": losses.nonsaturating(out, True),
                f"D/{mode}_reg": losses.r1_penalty(out, x_real, grad_scale)}  # fmt: skip
        with torch.no_grad():
            x_fake = networks["generator"](batch.x_real, self._style(networks, batch, mode))
        logs[f"D/{mode}_fake"] = losses.nonsaturating(d(x_fake, batch.y_trg), False)
        c = self.config
        loss = logs[f"D/{mode}_real"] + logs[f"D/{mode}_fake"] + c.lambda_reg * logs[f"D/{mode}_reg"]
        return loss, {k: v.detach() for k, v in logs.items()}

    def generator_loss(self, networks, batch: StarGANv2Batch, mode: str):
        g, e = networks["generator"], networks["style_encoder"]
        s_trg = self._style(networks, batch, mode)
        x_fake = g(batch.x_real, s_trg)
        s_trg2 = self._style(networks, batch, mode, second=True)
        x_fake2 = g(batch.x_real, s_trg2).detach()
        x_rec = g(x_fake, e(batch.x_real, batch.y_org))
        logs = {
            f"G/{mode}_adv": losses.nonsaturating(networks["discriminator"](x_fake, batch.y_trg), True),
            f"G/{mode}_sty": losses.l1(e(x_fake, batch.y_trg), s_trg),
            f"G/{mode}_ds": losses.l1(x_fake, x_fake2),
            f"G/{mode}_cyc": losses.l1(x_rec, batch.x_real),
        }
        c = self.config
        loss = (logs[f"G/{mode}_adv"] + c.lambda_sty * logs[f"G/{mode}_sty"]
                - batch.lambda_ds * logs[f"G/{mode}_ds"] + c.lambda_cyc * logs[f"G/{mode}_cyc"])  # fmt: skip
        return loss, {k: v.detach() for k, v in logs.items()}


def _streams(model_config, label_space, train_labels):
    """One class-balanced stream over the model's domains, two references of a random target domain a row."""
    return balanced_stream(domains_of(model_config, label_space), label_space, train_labels, references=2)


TRAINING = TrainingSpec(
    config=StarGANv2Loss,
    optimizers={
        "generator": OptimizerSpec(("generator",), "g_lr", key="g_opt"),
        "mapping_network": OptimizerSpec(("mapping_network",), "g_lr", lr_scale=0.01),  # 1e-6 beside 1e-4
        "style_encoder": OptimizerSpec(("style_encoder",), "g_lr"),
        "discriminator": OptimizerSpec(("discriminator",), "d_lr", key="d_opt"),
    },
    objective=StarGANv2Objective,
    averaged=("generator", "mapping_network", "style_encoder"),
    streams=_streams,
    phases={
        "D latent": ("discriminator",),
        "D ref": ("discriminator",),
        "G latent": ("generator", "mapping_network", "style_encoder"),
        "G ref": ("generator",),
    },  # fmt: skip
    ema_ramp=False,
)
