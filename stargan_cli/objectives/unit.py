"""The UNIT objective (Liu et al. 2017), as the reference's master `UNIT_Trainer` computes it, with the seed's
two other remedies for codes that mean different things in the two domains as options.

Symbols: x_a, x_b a batch of each domain; E_a = `generator.enc`, E_b = `generator_b.enc`, G_a =
`generator_b.dec` (decodes into A), G_b = `generator.dec`; h = E(x), n ~ N(0, I) of h's shape, fresh for
every use (the reduced VAE: unit variance, so the KL term is the code's mean square).

  x_a_recon = G_a(h_a + n)      x_ab = G_b(h_a + n)       h_a_recon = E_b(x_ab)     x_aba = G_a(h_a_recon + n)
  (and the same with a and b exchanged)

D loss = gan_w (sum over scales of mean(D_a(x_ba)^2) + mean((D_a(x_a) - 1)^2)) + the same for D_b
G loss = gan_w (sum over scales of mean((D_a(x_ba) - 1)^2) + the same for D_b)
       + recon_x_w |x_a_recon - x_a| + recon_kl_w mean(h_a^2)
       + recon_x_cyc_w |x_aba - x_a| + recon_kl_cyc_w mean(h_a_recon^2)       + the same for b

Weights: gan 1, recon_x 10, recon_kl 0.01, recon_x_cyc 10, recon_kl_cyc 0.01 (the reference's names and
values; its `version_02` configs use 10x the same ratios). Every step updates D first, then G. The
reference encodes and decodes again for its D update with other noise; here the translations x_ab, x_ba
are made once per step and shared by both updates (the same weights; the noise a fresh draw either way),
and the two decodings each decoder does (its own domain's reconstruction and the translation into it)
run as one batch: instance and layer norms are per sample, so the numbers are those of two calls.

Options, off at 0 (docs/experiments.md, benchmarks/RESULTS.md "UNIT options"):
- `latent_adversarial` w: the latent discriminator learns to say 1 for codes of A and 0 for codes of B
  (least squares, D loss + w (mean((L(h_a) - 1)^2) + mean(L(h_b)^2))), and the encoders are trained
  towards 0.5 for both (G loss + w (mean((L(h_a) - 0.5)^2) + mean((L(h_b) - 0.5)^2))): the least-squares
  target of "cannot tell", where a label flip would only swap which domain looks like which.
- `semantic` w: the code of x and the code of its translation agree (DTN's f-constancy, XGAN's semantic
  consistency): + w (d(h_a, h_a_recon) + d(h_b, h_b_recon)), d = `semantic_distance`: "l1" (mean
  absolute difference) or "cosine" (1 - the cosine of the two flattened codes, averaged over the batch).
- weight sharing, the third, is the model's `shared_layers`.

Noise comes from a generator seeded per batch by the data stream's draw, so a resumed run draws the same.

Logs, with their weights: `D_A/adv`, `D_B/adv`, `G/adv_A`, `G/adv_B`, `G/recon_A`, `G/recon_B`, `G/kl_A`,
`G/kl_B`, `G/cycle_A`, `G/cycle_B`, `G/kl_cycle_A`, `G/kl_cycle_B`; with the options `D/latent`,
`G/latent`, `G/semantic`. "_A" names the terms of domain A's images (x_a's reconstructions and codes,
D_a's judgement of x_ba), as the reference's `loss_gen_*_a` do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..errors import ConfigError
from .spec import Draw, ObjectiveContext, TrainingSpec, adversarial
from .two_domain import TwoDomainObjective, domain_streams

DISTANCES = ("l1", "cosine")


@dataclass(frozen=True)
class UNITLoss:
    """The `[loss]` section of a UNIT recipe; defaults are the reference's master configs."""

    gan_w: float = 1.0
    recon_x_w: float = 10.0
    recon_kl_w: float = 0.01
    recon_x_cyc_w: float = 10.0
    recon_kl_cyc_w: float = 0.01
    latent_adversarial: float = 0.0  # a discriminator on the codes, which the encoders must fool
    semantic: float = 0.0  # the code of x against the code of its translation
    semantic_distance: str = "l1"  # or "cosine"

    def __post_init__(self) -> None:
        for name in ("gan_w", "recon_x_w", "recon_kl_w", "recon_x_cyc_w", "recon_kl_cyc_w"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("latent_adversarial", "semantic"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be 0 (off) or more, got {getattr(self, name)}")
        if self.semantic_distance not in DISTANCES:
            raise ConfigError(
                f"loss.semantic_distance must be one of {', '.join(DISTANCES)}, got {self.semantic_distance!r}"
            )

    def cuda_graph_clashes(self) -> list[str]:
        return ['model.architecture = "unit" (its latent noise is drawn from a generator seeded each step)']


@dataclass
class UNITBatch:
    real_a: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    real_b: torch.Tensor
    noise: torch.Generator | None  # on the images' device; None on the meta device (memory estimate)


def _noise(h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(h.shape, generator=generator, device=h.device, dtype=h.dtype)


def _mean_square(h: torch.Tensor) -> torch.Tensor:
    return h.float().pow(2).mean()


def _lsgan_scales(outputs: list[torch.Tensor], target: float) -> torch.Tensor:
    """Least squares summed over the discriminator's scales, each a mean (no 0.5 factor)."""
    return sum(losses.lsgan(o, target) for o in outputs)


def _distance(a: torch.Tensor, b: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "l1":
        return losses.l1(a, b)
    return (1 - F.cosine_similarity(a.float().flatten(1), b.float().flatten(1), dim=1)).mean()


class UNITObjective(TwoDomainObjective):
    def __init__(self, config: UNITLoss, context: ObjectiveContext) -> None:
        self.config, self.context = config, context

    # ----- the loop's interface (objectives/spec.py) ------------------------------------------------------
    def draw(self, rng, rows: int) -> int:
        return int(rng.integers(2**62))  # the seed of this batch's latent noise

    def batches(self, draws: list[Draw], step: int) -> list[UNITBatch]:
        a, b = draws
        device = a.x_real.device
        noise = None
        if device.type != "meta":
            noise = torch.Generator(device=device).manual_seed(a.extra ^ b.extra)
        return [UNITBatch(a.x_real, b.x_real, noise)]

    def forward(self, networks: Mapping[str, nn.Module], batch: UNITBatch, phases: tuple[str, ...]) -> dict:
        """The codes and the translations; with G's update also the reconstructions, as one batch per
        decoder, all with their graphs."""
        g_ab, g_ba = networks["generator"], networks["generator_b"]
        with torch.set_grad_enabled("generator" in phases):
            h_a, h_b = g_ab(batch.real_a, part="encode"), g_ba(batch.real_b, part="encode")
            z_a, z_b = h_a + _noise(h_a, batch.noise), h_b + _noise(h_b, batch.noise)
            state = {"h_a": h_a, "h_b": h_b}
            if "generator" in phases:
                state["x_ab"], state["x_b_recon"] = g_ab(torch.cat([z_a, z_b]), part="decode").chunk(2)
                state["x_ba"], state["x_a_recon"] = g_ba(torch.cat([z_b, z_a]), part="decode").chunk(2)
            else:
                state["x_ab"], state["x_ba"] = g_ab(z_a, part="decode"), g_ba(z_b, part="decode")
        return state

    # ----- the paper's terms ------------------------------------------------------------------------------
    def discriminator_loss(self, networks, batch: UNITBatch, state: dict):
        cfg = self.config
        logs = {}
        for domain, real, fake in (("A", batch.real_a, state["x_ba"]), ("B", batch.real_b, state["x_ab"])):
            d = networks[f"discriminator_{domain.lower()}"]
            fake_term = _lsgan_scales(d(fake.detach()), 0.0)  # the reference's order: fake, then real
            logs[f"D_{domain}/adv"] = cfg.gan_w * (fake_term + _lsgan_scales(d(real), 1.0))
        if cfg.latent_adversarial:
            latent = networks["latent_discriminator"]
            a, b = latent(state["h_a"].detach()), latent(state["h_b"].detach())
            logs["D/latent"] = cfg.latent_adversarial * (losses.lsgan(a, True) + losses.lsgan(b, False))
        return sum(logs.values()), {k: v.detach() for k, v in logs.items()}

    def generator_loss(self, networks, batch: UNITBatch, state: dict):
        cfg = self.config
        g_ab, g_ba = networks["generator"], networks["generator_b"]
        h_a, h_b = state["h_a"], state["h_b"]
        h_b_recon = g_ab(state["x_ba"], part="encode")  # E_a of B's image translated into A
        h_a_recon = g_ba(state["x_ab"], part="encode")
        logs = {
            "G/adv_A": cfg.gan_w * _lsgan_scales(networks["discriminator_a"](state["x_ba"]), 1.0),
            "G/adv_B": cfg.gan_w * _lsgan_scales(networks["discriminator_b"](state["x_ab"]), 1.0),
            "G/recon_A": cfg.recon_x_w * losses.l1(state["x_a_recon"], batch.real_a),
            "G/recon_B": cfg.recon_x_w * losses.l1(state["x_b_recon"], batch.real_b),
            "G/kl_A": cfg.recon_kl_w * _mean_square(h_a),
            "G/kl_B": cfg.recon_kl_w * _mean_square(h_b),
            "G/kl_cycle_A": cfg.recon_kl_cyc_w * _mean_square(h_a_recon),
            "G/kl_cycle_B": cfg.recon_kl_cyc_w * _mean_square(h_b_recon),
        }
        if cfg.recon_x_cyc_w:  # the reference skips the second decoding without its loss
            x_aba = g_ba(h_a_recon + _noise(h_a_recon, batch.noise), part="decode")
            x_bab = g_ab(h_b_recon + _noise(h_b_recon, batch.noise), part="decode")
            logs["G/cycle_A"] = cfg.recon_x_cyc_w * losses.l1(x_aba, batch.real_a)
            logs["G/cycle_B"] = cfg.recon_x_cyc_w * losses.l1(x_bab, batch.real_b)
        if cfg.latent_adversarial:
            latent = networks["latent_discriminator"]
            fooled = losses.lsgan(latent(h_a), 0.5) + losses.lsgan(latent(h_b), 0.5)
            logs["G/latent"] = cfg.latent_adversarial * fooled
        if cfg.semantic:
            kind = cfg.semantic_distance
            logs["G/semantic"] = cfg.semantic * (
                _distance(h_a, h_a_recon, kind) + _distance(h_b, h_b_recon, kind)
            )
        return sum(logs.values()), {k: v.detach() for k, v in logs.items()}


TRAINING = TrainingSpec(
    config=UNITLoss,
    optimizers=adversarial(
        ("generator", "generator_b"), ("discriminator_a", "discriminator_b", "latent_discriminator")
    ),
    averaged=("generator", "generator_b"),
    objective=UNITObjective,
    streams=domain_streams,
)
