"""The evaluator: architecture choice, the cached ResNet-18, and its cache key."""

import pytest
import torch
from safetensors import safe_open
from torchvision.models import ResNet

from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.errors import ConfigError
from stargan_cli.evaluate.classifier import cache_path, classify, load_or_train, resolve
from stargan_cli.files import FILE_MODE


def test_auto_picks_the_small_network_below_64_px():
    assert resolve("auto", 32) == "small" and resolve("auto", 64) == "resnet18"
    assert resolve("auto", 128) == "resnet18" and resolve("small", 256) == "small"
    with pytest.raises(ConfigError, match="resnet18, small"):
        resolve("vgg", 128)


def test_resnet18_is_trained_cached_and_reloaded(toy_dataset):
    ds = PreparedDataset(toy_dataset)
    model, accuracy = load_or_train(ds, arch="resnet18")
    assert isinstance(model, ResNet) and model.fc.out_features == 5 and len(accuracy) == 5
    path = cache_path(ds, "resnet18")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert meta["architecture"] == "resnet18" and meta["manifest_hash"].startswith(ds.manifest_sha256[:16])
    stamp = path.stat().st_mtime_ns
    assert path.stat().st_mode & 0o777 == FILE_MODE  # readable like the user's other files, not 0o600
    again, accuracy_again = load_or_train(ds, arch="resnet18")  # from the cache: not retrained
    assert path.stat().st_mtime_ns == stamp and accuracy_again == accuracy
    images = ds.split("test").images
    assert torch.equal(classify(model, images), classify(again, images))
    assert cache_path(ds, "small") != path  # each architecture has its own cache
