"""An upper bound for the joint toy recipe: the StarGAN generator trained with the exact answers.

toyfaces can render every counterfactual (the same face with other attributes), so the recipe's generator
can be trained by plain L1 regression onto them, with no discriminator and no cycle: the easiest signal
there is. Every update takes a batch of one dataset (alternating), gives half of it targets of its own
dataset and half targets of the other one (as `train.cross_targets=0.5` does), and regresses
G(x, c_trg) onto render(face with the target). If this cannot reach the issue's bar (>= 80% of
toy-celeba faces read as the toy-rafd expression they were given) within the GAN's generator updates,
no choice of adversarial losses will.

    python benchmarks/experiments/generator_oracle.py --updates 6000 --eval-every 1000
Prints, every --eval-every updates: seconds, the L1 of the last batch, and on --faces toy-celeba test
faces given each expression the evaluator's accuracy and the L1 to the exact counterfactual; the same for
toy-rafd faces given each expression, and for toy-celeba faces given each hair colour.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.data.readers.toyfaces import face_of_source, render, with_labels
from stargan_cli.evaluate.classifier import classify, load_or_train, predict
from stargan_cli.images import to_tensor
from stargan_cli.labels import LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build


def counterfactuals(sources: list[str], style: str, targets: np.ndarray, size: int) -> np.ndarray:
    return np.stack(
        [
            render(with_labels(face_of_source(s)[0], style, t), size)
            for s, t in zip(sources, targets, strict=True)
        ]
    )


def random_targets(rng: np.random.Generator, dataset: PreparedDataset, n: int) -> np.ndarray:
    """Real label vectors of `dataset` (multi-label) or random classes (single-label)."""
    if dataset.labels.kind == "single":
        return np.eye(len(dataset.labels.attributes), dtype=np.float32)[
            rng.integers(0, len(dataset.labels.attributes), n)
        ]
    labels = dataset.split("train").labels
    return labels[rng.integers(0, len(labels), n)].astype(np.float32)


@torch.no_grad()
def score(
    generator, space, datasets, evaluators, source: int, target: int, faces: int
) -> tuple[float, float]:
    """Evaluator accuracy and L1 (in [0, 1]) to the counterfactual, `faces` test faces x each target."""
    src, trg = datasets[source], datasets[target]
    test, names = src.split("test"), src.files("test")[:faces]
    x = to_tensor(test.images[:faces])
    style = trg.manifest["toyfaces"]["style"]
    hits, l1, count = 0.0, 0.0, 0
    width = len(trg.labels.attributes)
    for k in range(width if trg.labels.kind == "single" else 3):  # every expression / every hair colour
        if trg.labels.kind == "single":
            t = np.zeros((faces, width), np.float32)
            t[:, k] = 1
        else:
            t = (
                test.labels[:faces].astype(np.float32).copy()
                if source == target
                else np.zeros((faces, width), np.float32)
            )
            t[:, :3] = 0
            t[:, k] = 1
        out = generator(x, space.generator_label(target, torch.from_numpy(t))).clamp(-1, 1)
        pred = predict(classify(evaluators[target], out), trg.labels).cpu()
        hits += (
            (pred.argmax(1) == k).float().sum().item()
            if trg.labels.kind == "single"
            else pred[:, k].sum().item()
        )
        truth = to_tensor(counterfactuals(names, style, t, src.image_size))
        l1 += ((out - truth).abs().mean().item() / 2) * faces
        count += faces
    return hits / count, l1 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs=2, default=["data/toyfaces", "data/toyrafd"])
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--width", type=int, default=16, help="model.g_conv_dim")
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--faces", type=int, default=200, help="test faces per score")
    args = parser.parse_args()
    torch.manual_seed(0)
    datasets = [PreparedDataset(path) for path in args.data]
    space = LabelSpace(tuple(ds.labels for ds in datasets))
    evaluators = [load_or_train(ds)[0] for ds in datasets]
    size = datasets[0].image_size
    config = StarGANConfig(image_size=size, g_conv_dim=args.width, g_down=2, g_repeat_num=3, d_repeat_num=4)
    generator = build(config, space)["generator"]
    opt = torch.optim.Adam(generator.parameters(), args.lr, (0.5, 0.999))
    splits = [ds.split("train") for ds in datasets]
    files = [ds.files("train") for ds in datasets]
    styles = [ds.manifest["toyfaces"]["style"] for ds in datasets]
    rng, start = np.random.default_rng(0), time.perf_counter()
    half = args.batch // 2
    for update in range(1, args.updates + 1):
        d = (update - 1) % 2
        rows = np.sort(rng.choice(len(splits[d]), args.batch, replace=False))
        names = [files[d][r] for r in rows]
        x = to_tensor(splits[d].images[rows])
        truth, labels = [], []
        for t, part in ((d, slice(0, half)), (1 - d, slice(half, args.batch))):
            trg = random_targets(rng, datasets[t], part.stop - part.start)
            truth.append(counterfactuals(names[part], styles[t], trg, size))
            labels.append(space.generator_label(t, torch.from_numpy(trg)))
        loss = (generator(x, torch.cat(labels)) - to_tensor(np.concatenate(truth))).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if update % args.eval_every == 0:
            generator.eval()
            cross = score(generator, space, datasets, evaluators, 0, 1, args.faces)
            own = score(generator, space, datasets, evaluators, 1, 1, args.faces)
            hair = score(generator, space, datasets, evaluators, 0, 0, args.faces)
            generator.train()
            print(
                f"update {update}: {time.perf_counter() - start:.0f} s, batch L1 {loss.item():.4f} | "
                f"toy-celeba -> expressions {cross[0]:.1%} (L1 {cross[1]:.3f}) | "
                f"toy-rafd own {own[0]:.1%} (L1 {own[1]:.3f}) | toy-celeba hair {hair[0]:.1%} (L1 {hair[1]:.3f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
