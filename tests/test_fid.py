"""FID and KID: closed-form cases through a stand-in feature network, the report's wiring, the weights file."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from stargan_cli.checkpoint import load_model
from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.errors import CheckpointError
from stargan_cli.evaluate import fid as fid_module
from stargan_cli.evaluate.fid import WEIGHTS_FILE, InceptionFeatures, distances, find_weights
from stargan_cli.evaluate.run import evaluate
from stargan_cli.images import to_tensor
from stargan_cli.inference import translate


class ChannelMeans(nn.Module):
    """A stand-in for the Inception: the mean of each colour channel (3 features)."""

    num_features = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Payload:
    """An arbitrary Python object in a weights file."""


def flat_images(rgb: list[tuple[float, float, float]]) -> torch.Tensor:
    """One 4x4 image per colour, each channel constant: ChannelMeans returns exactly these colours."""
    return torch.tensor(rgb, dtype=torch.float64)[:, :, None, None].expand(-1, -1, 4, 4).contiguous()


def cross(mean: tuple[float, float, float], s: float) -> list[tuple[float, float, float]]:
    """mean +- s along each axis: 6 points, mean `mean`, unbiased covariance (2 s^2 / 5) I."""
    out = []
    for axis in range(3):
        for sign in (-1, 1):
            p = list(mean)
            p[axis] += sign * s
            out.append(tuple(p))
    return out


def test_frechet_distance_of_a_closed_form_case():
    net = ChannelMeans()
    real = net(flat_images(cross((0.0, 0.0, 0.0), 0.6)))
    fake = net(flat_images(cross((0.1, -0.2, 0.3), 0.2)))
    # covariances are multiples of I: FID = |mu1 - mu2|^2 + sum over 3 axes of (sigma1 - sigma2)^2
    sigma_r, sigma_f = math.sqrt(2 * 0.6**2 / 5), math.sqrt(2 * 0.2**2 / 5)
    expected = (0.1**2 + 0.2**2 + 0.3**2) + 3 * (sigma_r - sigma_f) ** 2
    result = distances(real, fake)
    assert result.fid == pytest.approx(expected, abs=1e-9)
    assert distances(real, real).fid == pytest.approx(0.0, abs=1e-9)
    assert distances(real[:1], fake) is None  # one sample has no covariance


def test_kernel_distance_against_the_unbiased_mmd_written_out():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    fake = torch.randn(7, 3, generator=gen, dtype=torch.float64) + 0.5
    k = lambda a, b: (a @ b.T / 3 + 1) ** 3  # noqa: E731 - the polynomial kernel of KID
    m = 7
    kxx, kyy, kxy = k(real, real), k(fake, fake), k(real, fake)
    mmd = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (m * (m - 1)) - 2 * kxy.sum() / m**2
    result = distances(real, fake)  # subsets of all 7: every subset is the whole set
    assert result.kid == pytest.approx(mmd.item(), rel=1e-9)
    assert result.kid_std == pytest.approx(0.0, abs=1e-9)


def test_report_carries_fid_per_target_domain(trained_run, tmp_path):
    report = evaluate(trained_run, out=tmp_path / "r.json", features=ChannelMeans(), fid_images=20)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["fid"]["features"] == "ChannelMeans" and data["fid"]["note"] is None
    by_name = {s.attribute: s for s in report.scores}
    assert all(s.fid is not None and s.fid >= 0 for s in report.scores)
    fids = [s.fid for s in report.scores]
    assert data["summary"]["fid"] == pytest.approx(sum(fids) / len(fids))
    # recompute one domain independently: translations to blond hair against real blond training faces
    generator, info = load_model(trained_run)
    ds = PreparedDataset(json.loads((trained_run / "config.json").read_text())["data"]["datasets"][0])
    train, test = ds.split("train"), ds.split("test")
    blond = ds.labels.attributes.index("Blond_Hair")
    real = ChannelMeans()(to_tensor(train.images[train.labels[:, blond] > 0.5][:20]))
    org = torch.from_numpy(test.labels)
    changed = org[:, blond] < 0.5
    trg = org[changed].clone()
    trg[:, :3] = 0
    trg[:, blond] = 1
    with torch.no_grad():
        translator = info.method.model.translator({"generator": generator}, info.label_space, info.config)
        fake = translate(translator, to_tensor(test.images[changed.numpy()]), [(0, trg)])
    assert by_name["Blond_Hair"].fid == pytest.approx(distances(real, ChannelMeans()(fake)).fid, rel=1e-6)
    assert by_name["Blond_Hair"].kid == pytest.approx(distances(real, ChannelMeans()(fake)).kid, rel=1e-6)


def test_missing_weights_give_one_line_and_the_rest_of_the_report(trained_run, tmp_path, monkeypatch):
    monkeypatch.delenv(fid_module.ENV_VAR, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    report = evaluate(trained_run, out=tmp_path / "r.json")
    note = report.data["fid"]["note"]
    assert note.startswith("FID/KID skipped") and WEIGHTS_FILE in note and str(tmp_path / "hub") in note
    assert all(s.fid is None for s in report.scores) and report.summary["target_accuracy"] is not None
    with pytest.raises(CheckpointError, match="not a file"):
        find_weights(tmp_path / "nowhere.pth")
    monkeypatch.setenv(fid_module.ENV_VAR, str(tmp_path / "missing.pth"))
    with pytest.raises(CheckpointError, match="STARGAN_FID_WEIGHTS"):
        find_weights()


def test_inception_from_a_local_weights_file(tmp_path, monkeypatch):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    # a file with the real key names and shapes (random values): build the network once without weights
    empty = tmp_path / "empty.pth"
    torch.save({}, empty)
    with monkeypatch.context() as m:
        m.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        state = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(empty)).state_dict()
    weights = tmp_path / WEIGHTS_FILE
    torch.save(state, weights)
    monkeypatch.setenv(fid_module.ENV_VAR, str(weights))
    net = InceptionFeatures(find_weights())  # the file is read once; torch-fidelity loads those bytes
    assert all(torch.equal(v, state[k]) for k, v in net.net.state_dict().items())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, 2048) and torch.isfinite(out).all()

    bad = tmp_path / "objects.pth"
    torch.save({"x": Payload()}, bad)  # arbitrary Python objects: refused before anything unpickles them
    with pytest.raises(CheckpointError, match="weights-only"):
        InceptionFeatures(bad)
    torch.save({"fc.weight": torch.zeros(2, 2)}, bad)
    with pytest.raises(CheckpointError, match="does not hold"):
        InceptionFeatures(bad)


def test_real_features_use_images_having_the_attribute(toy_dataset):
    ds = PreparedDataset(toy_dataset)
    train = ds.split("train")
    young = ds.labels.attributes.index("Young")
    batches = fid_module.real_feature_batches(ds, young, ChannelMeans(), limit=5, batch_size=2)
    assert [k for k, _ in batches] == [0, 1, 2]
    got = fid_module.in_order(batches)
    expected = ChannelMeans()(to_tensor(train.images[np.flatnonzero(train.labels[:, young] > 0.5)[:5]]))
    assert torch.equal(got, expected)
