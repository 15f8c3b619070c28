"""Which expression the evaluator reads on a joint model's translations: a confusion matrix per source.

    python benchmarks/experiments/expression_confusion.py runs/latest --target data/toyrafd --sources data/toyrafd data/toyfaces
Rows: the target expression given to G; columns: what the target dataset's evaluator (the one `stargan
evaluate` trains and caches) reads on the translation, for the first --count test images of each source.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from stargan_cli.checkpoint import load_model
from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.evaluate.classifier import classify, load_or_train
from stargan_cli.images import to_tensor
from stargan_cli.inference import translate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--target", default="data/toyrafd", help="a single-label prepared dataset")
    parser.add_argument("--sources", nargs="+", default=["data/toyrafd", "data/toyfaces"])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    generator, info = load_model(f"{args.run}/generator.safetensors")
    space = info.label_space
    translator = info.method.model.translator({"generator": generator}, space, info.config)
    target = PreparedDataset(args.target)
    index = [d.name for d in space.datasets].index(target.name)
    names = space.datasets[index].attributes
    evaluator, _ = load_or_train(target)
    for source in args.sources:
        x = to_tensor(PreparedDataset(source).split("test").images[: args.count])
        counts = np.zeros((len(names), len(names)), int)
        with torch.no_grad():
            for e in range(len(names)):
                labels = torch.zeros(len(x), len(names))
                labels[:, e] = 1
                read = classify(evaluator, translate(translator, x, [(index, labels)])).argmax(1)
                counts[e] = np.bincount(read.numpy(), minlength=len(names))
        print(f"{source} -> {target.name} (rows: target, columns: read as)")
        print(" " * 14 + " ".join(f"{n[:7]:>7}" for n in names))
        for name, row in zip(names, counts, strict=True):
            print(f"{name[:13]:>13} " + " ".join(f"{v:7d}" for v in row))


if __name__ == "__main__":
    main()
