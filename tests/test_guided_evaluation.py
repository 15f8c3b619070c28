"""StarGAN v2's evaluation protocol (evaluate/guided.py, evaluate/lpips.py): every number of a tiny run's
report recomputed by hand from its networks, and LPIPS against a plain re-computation."""

from __future__ import annotations

import dataclasses
from itertools import combinations

import numpy as np
import pytest
import torch

from tests.test_stargan_v2 import v2_recipe


@pytest.fixture(scope="module")
def v2_run(toy_dataset, tmp_path_factory):
    from stargan_cli.config import load_recipe
    from stargan_cli.train.loop import train

    return train(load_recipe(v2_recipe(tmp_path_factory.mktemp("v2eval"), toy_dataset, steps=2))[0]).run_dir


def test_the_reference_answer_is_the_source_face_with_the_references_hair():
    from stargan_cli.data.readers.toyfaces import render, sample_face, with_style_of

    face, ref = sample_face(0, 0, 3, "celeba"), sample_face(0, 0, 8, "celeba")
    answer = with_style_of(face, ref)
    assert (answer.hair, answer.hair_style, answer.hair_rgb_jitter) == (
        ref.hair,
        ref.hair_style,
        ref.hair_rgb_jitter,
    )
    assert dataclasses.replace(answer, hair=face.hair, hair_style=face.hair_style,
                               hair_rgb_jitter=face.hair_rgb_jitter) == face  # fmt: skip
    assert np.array_equal(render(with_style_of(face, face), 32), render(face, 32))


def test_latent_and_reference_modes_score_every_output_as_computed_by_hand(v2_run, toy_dataset, tmp_path):
    from stargan_cli.checkpoint import load_exported
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.data.readers.toyfaces import face_of_source, render, with_style_of
    from stargan_cli.evaluate.fid import distances, real_features
    from stargan_cli.evaluate.run import evaluate, tables
    from stargan_cli.images import to_tensor
    from stargan_cli.models.spec import Guide

    from .test_fid import ChannelMeans

    report = evaluate(v2_run, features=ChannelMeans(), fid_images=20, outputs=3, out=tmp_path / "report.json")
    assert report.data["guided"]["modes"] == ["latent", "reference"]
    assert (
        report.data["guided"]["diversity"] == "pixel L1"
        and "--lpips-weights" in report.data["guided"]["note"]
    )
    networks, info = load_exported(v2_run)
    tr = info.method.model.translator(networks, info.label_space, info.config)
    ds = PreparedDataset(toy_dataset)
    test, files = ds.split("test"), ds.files("test")
    x_all, labels = to_tensor(test.images[:]), torch.from_numpy(test.labels[:])
    real = real_features([ds], ChannelMeans(), 20, 64, "cpu")[ds.name]
    for score in report.scores:
        index = ds.labels.index(score.attribute)
        rows = np.flatnonzero(labels[:, index].numpy() < 0.5)  # every image not yet of that hair colour
        target = labels[rows].clone()
        target[:, :3] = 0
        target[:, index] = 1
        x = x_all[rows]
        if score.guide == "latent":
            guides = [(Guide(seed=0, sample=k), None) for k in range(3)]  # one test batch: seed 0
        else:
            pool = np.flatnonzero(labels[:, index].numpy() > 0.5)
            picks = [np.random.default_rng([0, k, index]).choice(pool, len(rows)) for k in range(3)]
            guides = [(Guide(reference=x_all[p]), p) for p in picks]
        fakes = [tr.translate(x, 0, target, g) for g, _ in guides]
        back = [tr.translate(f, 0, labels[rows], Guide(reference=x)) for f in fakes]
        assert score.pairs == 3 * len(rows)
        rec = torch.stack([(b - x).abs().mean((1, 2, 3)) / 2 for b in back]).mean().item()
        assert score.reconstruction_l1 == pytest.approx(rec, rel=1e-5)
        pairs = list(combinations(range(3), 2))
        div = torch.stack([sum((fakes[i] - fakes[j]).abs().mean((1, 2, 3)) / 2 for i, j in pairs) / 3]).mean()
        assert score.diversity == pytest.approx(div.item(), rel=1e-5)
        fid = distances(
            real[score.attribute], torch.cat([f.mean((2, 3)) for f in fakes]).detach()
        ).fid  # every output
        assert score.fid == pytest.approx(fid, rel=1e-4)
        if score.guide == "latent":
            assert score.counterfactual_l1 is None and score.identity_l1 is None  # no single right answer
            continue
        truths = [
            to_tensor(np.stack([render(with_style_of(face_of_source(files[r])[0], face_of_source(files[q])[0]), 16)
                                for r, q in zip(rows, p, strict=True)]))
            for _, p in guides
        ]  # fmt: skip
        cf = torch.stack(
            [(f - t).abs().mean((1, 2, 3)) / 2 for f, t in zip(fakes, truths, strict=True)]
        ).mean()
        noop = torch.stack([(x - t).abs().mean((1, 2, 3)) / 2 for t in truths]).mean()
        assert score.counterfactual_l1 == pytest.approx(cf.item(), rel=1e-5)
        assert score.identity_l1 == pytest.approx(noop.item(), rel=1e-5)
    assert sorted((s.guide, s.attribute) for s in report.scores) == sorted(
        (m, a) for m in ("latent", "reference") for a in ("Black_Hair", "Blond_Hair", "Brown_Hair")
    )
    assert [t.title.split(" (")[0] for t in tables(report)] == [
        "toy-celeba, latent",
        "toy-celeba, reference",
        "summary",
    ]
    assert report.picture.is_file()


def _random_lpips_files(tmp_path, style: str):
    from torchvision.models import alexnet

    torch.manual_seed(0)
    backbone = alexnet(weights=None).state_dict()
    key = "lpips_weights.{}.main.1.weight" if style == "stargan_v2" else "lin{}.model.1.weight"
    linear = {key.format(i): torch.rand(1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))}
    torch.save(backbone, tmp_path / "alexnet.pth")
    torch.save(linear, tmp_path / "lin.pth")
    return tmp_path / "lin.pth", tmp_path / "alexnet.pth", backbone, list(linear.values())


@pytest.mark.parametrize("style", ["stargan_v2", "lpips"])
def test_lpips_from_local_files_against_a_plain_recomputation(tmp_path, style):
    from torchvision.models import alexnet

    from stargan_cli.evaluate.lpips import LPIPS

    lin_file, backbone_file, backbone, linear = _random_lpips_files(tmp_path, style)
    lpips = LPIPS.from_files(lin_file, backbone_file)
    a, b = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 3, 32, 32) * 2 - 1
    net = alexnet(weights=None)
    net.load_state_dict(backbone)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def taps(x):
        out, h = [], (x - shift) / scale
        for i in range(12):
            h = net.features[i](h)
            if i in (1, 4, 7, 9, 11):
                out.append(h / (h.norm(dim=1, keepdim=True) + 1e-10))
        return out

    expected = sum(
        ((fa - fb) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean((1, 2))
        for fa, fb, w in zip(taps(a), taps(b), linear, strict=True)
    )
    assert torch.allclose(lpips(a, b), expected, rtol=1e-4)
    assert lpips(a, a).abs().max().item() == 0.0
    assert (lpips(a, b) > 0).all()


def test_lpips_files_that_are_not_lpips_fail_in_one_line(tmp_path):
    from stargan_cli.errors import CheckpointError
    from stargan_cli.evaluate.lpips import LPIPS, diversity_network

    lin_file, backbone_file, _, _ = _random_lpips_files(tmp_path, "lpips")
    torch.save({"lin0.model.1.weight": torch.rand(1, 3, 1, 1)}, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match="does not hold AlexNet's five linear layers"):
        LPIPS.from_files(tmp_path / "wrong.pth", backbone_file)
    with pytest.raises(CheckpointError, match="does not hold torchvision's AlexNet"):
        LPIPS.from_files(lin_file, lin_file)
    with pytest.raises(CheckpointError, match="is not a file"):
        LPIPS.from_files(tmp_path / "missing.pth", backbone_file)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(
        CheckpointError, match="is not a readable PyTorch checkpoint .*; expected StarGAN v2's"
    ):
        LPIPS.from_files(tmp_path / "junk.pth", backbone_file)
    with pytest.raises(CheckpointError, match="needs torchvision's ImageNet AlexNet as a local file"):
        LPIPS.from_files(lin_file, tmp_path / "no-alexnet.pth")
    with pytest.raises(CheckpointError, match="needs --lpips-weights"):
        diversity_network(None, backbone_file)
