"""Two CPU processes (gloo, DDP through Accelerate) give the gradients of one process on the same global
batch: the whole D loss, gradient penalty included, is one backward per batch."""

import torch

from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.stargan import StarGANConfig
from stargan_cli.objectives.stargan import StarGANBatch

from . import method_helpers
from .conftest import TINY_MODEL
from .spawn import in_two_processes, join_group

SPACE = LabelSpace(
    (
        DatasetLabels("a", ("h1", "h2", "m"), "multi", (("h1", "h2"),)),
        DatasetLabels("b", ("p", "q", "r", "s"), "single"),
    )
)
GLOBAL = 8  # global batch; 4 per process


def global_batches() -> list[StarGANBatch]:
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
        out.append(StarGANBatch(x, dataset, labels, target, alpha=alpha))
    return out


def shard(batch: StarGANBatch, rank: int, world: int) -> StarGANBatch:
    part = slice(rank * GLOBAL // world, (rank + 1) * GLOBAL // world)
    rows = (batch.x_real, batch.labels_org, batch.labels_trg)
    return StarGANBatch(rows[0][part], batch.dataset, rows[1][part], rows[2][part], alpha=batch.alpha[part])


def gradients(
    generator, discriminator, rank: int = 0, world: int = 1, backward=None
) -> dict[str, torch.Tensor]:
    """D then G gradients, accumulated over one batch of each dataset (the whole D loss in one forward, as
    the objective does under several processes)."""
    objective = method_helpers.objective(SPACE, separate_penalty=False)
    backward = backward or (lambda loss: loss.backward())
    for batch in global_batches():
        batch = shard(batch, rank, world)
        _, c_trg = objective.generator_labels(batch)
        with torch.no_grad():
            fake = generator(batch.x_real, c_trg)
        loss, _ = objective.discriminator_loss(discriminator, batch, fake)
        backward(loss)
    d_grads = {f"D.{k}": p.grad.clone() for k, p in discriminator.named_parameters()}
    discriminator.zero_grad()
    for batch in global_batches():
        batch = shard(batch, rank, world)
        _, c_trg = objective.generator_labels(batch)
        loss, _ = objective.generator_loss(generator, discriminator, batch, generator(batch.x_real, c_trg))
        backward(loss)
    return d_grads | {f"G.{k}": p.grad.clone() for k, p in generator.named_parameters()}


def networks():
    torch.manual_seed(0)
    return method_helpers.networks(StarGANConfig(**TINY_MODEL), SPACE)


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
    accelerator.wait_for_everyone()  # both done before either exits (destroying the group raced: SIGABRT)


def test_two_processes_match_one(tmp_path):
    in_two_processes(_in_each_process, str(tmp_path))
    expected = gradients(*networks())
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            torch.testing.assert_close(got[name], value, rtol=1e-4, atol=1e-6, msg=name)
    assert expected["D.conv2.weight"].abs().sum() > 0 and expected["G.main.0.weight"].abs().sum() > 0


def ema_after_updates(generator, discriminator, rank: int = 0, world: int = 1, backward=None, unwrap=None):
    """Three SGD updates of G over one batch of each dataset, the moving average updated after each (as
    the loop does): the average's tensors. (A small SGD step, not Adam: Adam turns rounding in near-zero
    gradients into full-size steps, and SGD at 0.05 amplifies rounding to 5e-3 within six steps, measured;
    at 0.005 the two stay within 1e-7, so one process's weights can be compared to a tolerance.)"""
    from stargan_cli.train.ema import EMA

    objective = method_helpers.objective(SPACE, separate_penalty=False)
    backward = backward or (lambda loss: loss.backward())
    plain = unwrap(generator) if unwrap else generator
    ema = EMA({"generator": plain}, decay=0.9)
    opt = torch.optim.SGD(generator.parameters(), 0.005, momentum=0.5)
    for _ in range(3):
        for batch in global_batches():
            batch = shard(batch, rank, world)
            _, c_trg = objective.generator_labels(batch)
            loss, _ = objective.generator_loss(
                generator, discriminator, batch, generator(batch.x_real, c_trg)
            )
            opt.zero_grad()
            backward(loss)
            opt.step()
            ema.update({"generator": plain})
    return {k: v.clone() for k, v in ema.networks["generator"].state_dict().items()}


def _ema_in_each_process(rank: int, port: int, out_dir: str) -> None:
    from accelerate import Accelerator

    join_group(rank, port)
    accelerator = Accelerator(cpu=True)
    generator, discriminator = accelerator.prepare(*networks())
    average = ema_after_updates(
        generator, discriminator, accelerator.process_index, accelerator.num_processes, accelerator.backward,
        accelerator.unwrap_model,
    )  # fmt: skip
    torch.save(average, f"{out_dir}/ema{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()  # both done before either exits (destroying the group raced: SIGABRT)


def test_the_moving_average_is_the_same_on_every_process(tmp_path):
    in_two_processes(_ema_in_each_process, str(tmp_path))
    expected = ema_after_updates(*networks())
    first, second = (torch.load(tmp_path / f"ema{r}.pt", weights_only=True) for r in (0, 1))
    assert first.keys() == second.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(first[name], second[name]), name  # identical on both processes
        diff = (first[name] - value).abs().max().item()
        assert diff < 1e-5, (name, diff, (value - networks()[0].state_dict()[name]).abs().max().item())
    start = networks()[0].state_dict()
    assert any((expected[k] - start[k]).abs().max() > 1e-3 for k in start)  # the average moved
