"""The U-GAT-IT objective (Kim et al. 2020), as the PyTorch reimplementation computes it.

Symbols: real_A, real_B a batch of each domain; G_AB = `generator`, G_BA = `generator_b`; each generator
also returns its CAM logits. D_GA, D_LA (global, local) judge domain A images, D_GB, D_LB domain B: each
returns patch logits and CAM logits, and every adversarial term below is least squares on both.

D loss = adv (MSE(D_GA(A), 1) + MSE(D_GA(G_BA(B)), 0) + the same on CAM logits + the same for D_LA)
       + the same for domain B                                        (no 0.5 factor, unlike CycleGAN)
G loss = adv (MSE(D_GA(G_BA(B)), 1) + CAM + D_LA's two)  + the same for domain B
       + cycle (|G_BA(G_AB(A)) - A| + |G_AB(G_BA(B)) - B|)
       + identity (|G_BA(A) - A| + |G_AB(B) - B|)
       + cam (BCE(cam_BA(B), 1) + BCE(cam_BA(A), 0) + BCE(cam_AB(A), 1) + BCE(cam_AB(B), 0))

Weights: adv 1, cycle 10, identity 10, cam 1000. Every step updates D first, then G (one Adam over both
generators, one over the four discriminators; the recipes add weight decay 1e-4), then clips every rho of
both generators to [0, 1]. The translations G_AB(A), G_BA(B) are made once per step and shared: the
reference makes them again for its G update with the same weights, so the numbers are the same; its D
update does not detach them (wasted memory and compute), ours does. The discriminators are called in the
reference's order, so their spectral norms' power iterations advance alike.

Logs, with their weights (the reference prints only the two totals): `D_A/adv`, `D_B/adv`, `G/adv_A`,
`G/adv_B`, `G/cycle_A`, `G/cycle_B`, `G/idt_A`, `G/idt_B`, `G/cam_A`, `G/cam_B`. "_A" groups the terms
whose discriminator or reconstruction is domain A, as the reference's `G_loss_A` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..errors import ConfigError
from ..models.ugatit import clip_rho
from .spec import Draw, ObjectiveContext, TrainingSpec, adversarial
from .two_domain import TwoDomainObjective, domain_streams


@dataclass(frozen=True)
class UGATITLoss:
    """The `[loss]` section of a U-GAT-IT recipe; defaults are the reference's (both codes agree)."""

    adv_weight: float = 1.0
    cycle_weight: float = 10.0
    identity_weight: float = 10.0
    cam_weight: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("adv_weight", "cycle_weight", "identity_weight", "cam_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be 0 or more, got {getattr(self, name)}")

    def cuda_graph_clashes(self) -> list[str]:
        return []


@dataclass
class UGATITBatch:
    real_a: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    real_b: torch.Tensor


def _adversarial(discriminator: nn.Module, images: torch.Tensor, real: bool) -> torch.Tensor:
    """Least squares on the patch logits plus on the CAM logits of one discriminator."""
    patch, cam, _ = discriminator(images)
    return losses.lsgan(patch, real) + losses.lsgan(cam, real)


def _cam(logits: torch.Tensor, source: bool) -> torch.Tensor:
    """The generator's CAM loss: its auxiliary classifier says 1 for images of the domain it translates
    from, 0 for images of the domain it translates into (the identity pass)."""
    target = torch.full_like(logits, 1.0 if source else 0.0, dtype=torch.float32)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


class UGATITObjective(TwoDomainObjective):
    def __init__(self, config: UGATITLoss, context: ObjectiveContext) -> None:
        self.config, self.context = config, context

    # ----- the loop's interface (objectives/spec.py) ------------------------------------------------------
    def draw(self, rng, rows: int) -> None:
        return None

    def batches(self, draws: list[Draw], step: int) -> list[UGATITBatch]:
        a, b = draws
        return [UGATITBatch(a.x_real, b.x_real)]

    def forward(self, networks: Mapping[str, nn.Module], batch: UGATITBatch, phases: tuple[str, ...]) -> dict:
        """Both translations with their CAM logits, with their graphs when G is updated."""
        with torch.set_grad_enabled("generator" in phases):
            fake_b, cam_ab, _ = networks["generator"](batch.real_a, extras=True)
            fake_a, cam_ba, _ = networks["generator_b"](batch.real_b, extras=True)
        return {"fake_b": fake_b, "cam_ab": cam_ab, "fake_a": fake_a, "cam_ba": cam_ba}

    def after_update(self, phase: str, networks: Mapping[str, nn.Module]) -> None:
        if phase == "generator":
            clip_rho({n: networks[n] for n in ("generator", "generator_b")})

    # ----- the paper's terms ------------------------------------------------------------------------------
    def discriminator_loss(self, networks, batch: UGATITBatch, state: dict):
        adv = self.config.adv_weight
        fake_a, fake_b = state["fake_a"].detach(), state["fake_b"].detach()
        logs = {}
        for domain, real, fake in (("A", batch.real_a, fake_a), ("B", batch.real_b, fake_b)):
            terms = []
            for scope in (
                "g",
                "l",
            ):  # the reference's order: global real, global fake, local real, local fake
                d = networks[f"discriminator_{scope}{domain.lower()}"]
                terms += [_adversarial(d, real, True), _adversarial(d, fake, False)]
            logs[f"D_{domain}/adv"] = adv * sum(terms)
        return logs["D_A/adv"] + logs["D_B/adv"], {k: v.detach() for k, v in logs.items()}

    def generator_loss(self, networks, batch: UGATITBatch, state: dict):
        cfg = self.config
        g_ab, g_ba = networks["generator"], networks["generator_b"]
        rec_a = g_ba(state["fake_b"])
        rec_b = g_ab(state["fake_a"])
        idt_a, cam_aa, _ = g_ba(batch.real_a, extras=True)
        idt_b, cam_bb, _ = g_ab(batch.real_b, extras=True)
        logs = {}
        for domain, fake in (("A", state["fake_a"]), ("B", state["fake_b"])):
            terms = [
                _adversarial(networks[f"discriminator_{s}{domain.lower()}"], fake, True) for s in ("g", "l")
            ]
            logs[f"G/adv_{domain}"] = cfg.adv_weight * sum(terms)
        logs["G/cycle_A"] = cfg.cycle_weight * losses.l1(rec_a, batch.real_a)
        logs["G/cycle_B"] = cfg.cycle_weight * losses.l1(rec_b, batch.real_b)
        logs["G/idt_A"] = cfg.identity_weight * losses.l1(idt_a, batch.real_a)
        logs["G/idt_B"] = cfg.identity_weight * losses.l1(idt_b, batch.real_b)
        logs["G/cam_A"] = cfg.cam_weight * (_cam(state["cam_ba"], True) + _cam(cam_aa, False))
        logs["G/cam_B"] = cfg.cam_weight * (_cam(state["cam_ab"], True) + _cam(cam_bb, False))
        return sum(logs.values()), {k: v.detach() for k, v in logs.items()}


TRAINING = TrainingSpec(
    config=UGATITLoss,
    optimizers=adversarial(
        ("generator", "generator_b"),
        ("discriminator_ga", "discriminator_la", "discriminator_gb", "discriminator_lb"),
    ),
    averaged=("generator", "generator_b"),
    objective=UGATITObjective,
    streams=domain_streams,
)
