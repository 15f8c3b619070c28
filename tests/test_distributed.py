"""Two CPU processes (gloo, DDP through Accelerate) give the gradients of one process on the same global
batch: the whole D loss, gradient penalty included, is one backward per batch."""

import torch

from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build
from stargan_cli.objectives import Batch, StarGANObjective

from .conftest import TINY_MODEL
from .spawn import in_two_processes, join_group

SPACE = LabelSpace(
    (
        DatasetLabels("a", ("h1", "h2", "m"), "multi", (("h1", "h2"),)),
        DatasetLabels("b", ("p", "q", "r", "s"), "single"),
    )
)
GLOBAL = 8  # global batch; 4 per process


def global_batches() -> list[tuple[Batch, torch.Tensor]]:
    gen = torch.Generator().manual_seed(3)
    out = []
    for dataset, size in ((0, 3), (1, 4)):
        x = torch.rand(GLOBAL, 3, 16, 16, generator=gen) * 2 - 1
        if dataset == 0:
            labels = (torch.rand(GLOBAL, size, generator=gen) > 0.5).float()
        else:
            labels = torch.eye(size)[torch.randint(0, size, (GLOBAL,), generator=gen)]
        target = labels[torch.randperm(GLOBAL, generator=gen)]
        alpha = torch.rand(GLOBAL, 1, 1, 1, generator=gen)
        out.append((Batch(x, dataset, labels, target), alpha))
    return out


def shard(batch: Batch, alpha: torch.Tensor, rank: int, world: int) -> tuple[Batch, torch.Tensor]:
    part = slice(rank * GLOBAL // world, (rank + 1) * GLOBAL // world)
    return Batch(batch.x_real[part], batch.dataset, batch.labels_org[part], batch.labels_trg[part]), alpha[
        part
    ]


def gradients(
    generator, discriminator, rank: int = 0, world: int = 1, backward=None
) -> dict[str, torch.Tensor]:
    """D then G gradients, accumulated over one batch of each dataset. With the identity term (not in the
    paper) G runs three forwards per loss: the translation, the reconstruction and the identity."""
    objective = StarGANObjective(SPACE, lambda_id=0.5)
    backward = backward or (lambda loss: loss.backward())
    for batch, alpha in global_batches():
        batch, alpha = shard(batch, alpha, rank, world)
        _, c_trg = objective.generator_labels(batch)
        with torch.no_grad():
            fake = generator(batch.x_real, c_trg)
        loss, _ = objective.discriminator_loss(discriminator, batch, fake, alpha)
        backward(loss)
    d_grads = {f"D.{k}": p.grad.clone() for k, p in discriminator.named_parameters()}
    discriminator.zero_grad()
    for batch, alpha in global_batches():
        batch, alpha = shard(batch, alpha, rank, world)
        _, c_trg = objective.generator_labels(batch)
        loss, _ = objective.generator_loss(generator, discriminator, batch, generator(batch.x_real, c_trg))
        backward(loss)
    return d_grads | {f"G.{k}": p.grad.clone() for k, p in generator.named_parameters()}


def networks():
    torch.manual_seed(0)
    return build(StarGANConfig(**TINY_MODEL), SPACE.generator_dim, SPACE.num_classes)


def _in_each_process(rank: int, port: int, out_dir: str) -> None:
    from accelerate import Accelerator

    join_group(rank, port)
    accelerator = Accelerator(cpu=True)
    generator, discriminator = accelerator.prepare(*networks())
    grads = gradients(
        generator, discriminator, accelerator.process_index, accelerator.num_processes, accelerator.backward
    )
    grads = {k.replace("module.", ""): v for k, v in grads.items()}
    torch.save(grads, f"{out_dir}/rank{accelerator.process_index}.pt")
    accelerator.end_training()


def test_two_processes_match_one(tmp_path):
    in_two_processes(_in_each_process, str(tmp_path))
    expected = gradients(*networks())
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            torch.testing.assert_close(got[name], value, rtol=1e-4, atol=1e-6, msg=name)
    assert expected["D.conv2.weight"].abs().sum() > 0 and expected["G.main.0.weight"].abs().sum() > 0
