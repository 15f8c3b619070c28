import json

import numpy as np
import pytest

from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.data.readers.toyfaces import prepare_toyfaces
from stargan_cli.errors import DatasetError


def test_prepared_layout_and_manifest(toy_dataset):
    ds = PreparedDataset(toy_dataset)
    manifest = json.loads((toy_dataset / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["splits"] == {"train": 48, "test": 12}
    assert manifest["labels"]["attributes"] == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    assert manifest["skipped"] == {} and manifest["toyfaces"] == {"style": "celeba", "seed": 0}
    train = ds.split("train")
    assert train.images.shape == (48, 16, 16, 3) and train.images.dtype == np.uint8
    assert isinstance(train.images, np.memmap)
    assert train.labels.shape == (48, 5) and set(np.unique(train.labels)) <= {0.0, 1.0}
    assert (train.labels[:, :3].sum(1) == 1).all()  # exactly one hair colour
    assert ds.files("test")[0] == "toyfaces:celeba:0:test:0"


def test_same_seed_same_data(tmp_path, toy_dataset):
    again = prepare_toyfaces(str(tmp_path / "again"), "celeba", 16, 48, 12, 0, False)
    assert np.array_equal(again.split("train").images, PreparedDataset(toy_dataset).split("train").images)


def test_missing_and_incomplete_datasets(tmp_path, toy_dataset):
    with pytest.raises(DatasetError, match="not found; create it with `stargan prepare"):
        PreparedDataset(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "images-train.npy").write_bytes(b"")
    with pytest.raises(DatasetError, match="not a complete prepared dataset"):
        PreparedDataset(partial)


def test_truncated_array_is_reported(tmp_path, toy_dataset):
    copy = tmp_path / "copy"
    prepare_toyfaces(str(copy), "celeba", 16, 48, 12, 0, False)
    data = (copy / "images-train.npy").read_bytes()
    (copy / "images-train.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="train split is unreadable|images-train.npy is"):
        PreparedDataset(copy).split("train")


def test_output_holding_a_dataset_is_refused_then_replaced(tmp_path):
    out = tmp_path / "ds"
    prepare_toyfaces(str(out), "celeba", 16, 20, 4, 0, False)
    before = (out / "images-train.npy").read_bytes()
    with pytest.raises(DatasetError, match="already holds toy-celeba; pass --overwrite"):
        prepare_toyfaces(str(out), "rafd", 16, 20, 4, 0, False)
    assert (out / "images-train.npy").read_bytes() == before
    replaced = prepare_toyfaces(str(out), "rafd", 16, 20, 4, 0, True)
    assert replaced.name == "toy-rafd" and replaced.labels.kind == "single"
    assert not list(tmp_path.glob(".ds.*"))  # no temporary directories left behind


def test_non_empty_unrelated_directory_is_refused(tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "me.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="not an empty directory"):
        prepare_toyfaces(str(out), "celeba", 16, 20, 4, 0, False)
    assert (out / "me.jpg").read_bytes() == b"x"


def test_interrupted_preparation_never_looks_complete(tmp_path, monkeypatch):
    from stargan_cli.data import prepare

    calls = {"n": 0}
    original = prepare._write_split

    def crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(prepare, "_write_split", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_toyfaces(str(tmp_path / "ds"), "celeba", 16, 20, 4, 0, False)
    assert not (tmp_path / "ds").exists() and not list(tmp_path.iterdir())
