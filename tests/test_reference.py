"""Importing the reference implementation's released .ckpt files (key names and shapes as it saves them)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stargan_cli.checkpoint import load_model

from .cli_helpers import assert_one_line_error, invoke


def in_params(state, prefix, channels, gen, batches_tracked=True):
    state[f"{prefix}.weight"] = 1 + 0.1 * torch.randn(channels, generator=gen)
    state[f"{prefix}.bias"] = 0.1 * torch.randn(channels, generator=gen)
    state[f"{prefix}.running_mean"] = torch.randn(channels, generator=gen)  # must never be used
    state[f"{prefix}.running_var"] = torch.rand(channels, generator=gen) + 0.5
    if batches_tracked:
        state[f"{prefix}.num_batches_tracked"] = torch.tensor(200000)


def reference_generator_state(labels=5, dim=64, blocks=6, batches_tracked=True, seed=0):
    """A state_dict laid out exactly as the reference's Generator saves it (REFERENCE.md)."""
    gen = torch.Generator().manual_seed(seed)
    s = OrderedDict()

    def conv(key, *shape):
        fan_in = shape[1] * shape[2] * shape[3]
        s[key] = torch.randn(*shape, generator=gen) / fan_in**0.5

    conv("main.0.weight", dim, 3 + labels, 7, 7)
    in_params(s, "main.1", dim, gen, batches_tracked)
    conv("main.3.weight", dim * 2, dim, 4, 4)
    in_params(s, "main.4", dim * 2, gen, batches_tracked)
    conv("main.6.weight", dim * 4, dim * 2, 4, 4)
    in_params(s, "main.7", dim * 4, gen, batches_tracked)
    for b in range(9, 9 + blocks):
        conv(f"main.{b}.main.0.weight", dim * 4, dim * 4, 3, 3)
        in_params(s, f"main.{b}.main.1", dim * 4, gen, batches_tracked)
        conv(f"main.{b}.main.3.weight", dim * 4, dim * 4, 3, 3)
        in_params(s, f"main.{b}.main.4", dim * 4, gen, batches_tracked)
    up = 9 + blocks
    conv(f"main.{up}.weight", dim * 4, dim * 2, 4, 4)  # ConvTranspose2d: (in, out, k, k)
    in_params(s, f"main.{up + 1}", dim * 2, gen, batches_tracked)
    conv(f"main.{up + 3}.weight", dim * 2, dim, 4, 4)
    in_params(s, f"main.{up + 4}", dim, gen, batches_tracked)
    conv(f"main.{up + 6}.weight", 3, dim, 7, 7)
    return s


def reference_forward(s, x, c, blocks=6):
    """The reference generator's forward pass written out from the tensors, per-image statistics."""

    def norm(h, p):
        return F.instance_norm(h, weight=s[f"{p}.weight"], bias=s[f"{p}.bias"], eps=1e-5)

    h = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
    h = F.relu(norm(F.conv2d(h, s["main.0.weight"], padding=3), "main.1"))
    h = F.relu(norm(F.conv2d(h, s["main.3.weight"], stride=2, padding=1), "main.4"))
    h = F.relu(norm(F.conv2d(h, s["main.6.weight"], stride=2, padding=1), "main.7"))
    for b in range(9, 9 + blocks):
        p = f"main.{b}.main"
        r = F.relu(norm(F.conv2d(h, s[f"{p}.0.weight"], padding=1), f"{p}.1"))
        h = h + norm(F.conv2d(r, s[f"{p}.3.weight"], padding=1), f"{p}.4")
    up = 9 + blocks
    h = F.relu(norm(F.conv_transpose2d(h, s[f"main.{up}.weight"], stride=2, padding=1), f"main.{up + 1}"))
    h = F.relu(norm(F.conv_transpose2d(h, s[f"main.{up + 3}.weight"], stride=2, padding=1), f"main.{up + 4}"))
    return torch.tanh(F.conv2d(h, s[f"main.{up + 6}.weight"], padding=3))


def reference_discriminator_state(labels=5, image_size=128, dim=4, repeat=6, seed=1):
    """The reference's Discriminator layout (narrow: dim 4 instead of 64 keeps the file small)."""
    gen = torch.Generator().manual_seed(seed)
    s = OrderedDict()
    channels_in, channels = 3, dim
    for i in range(repeat):
        s[f"main.{2 * i}.weight"] = 0.1 * torch.randn(channels, channels_in, 4, 4, generator=gen)
        s[f"main.{2 * i}.bias"] = torch.zeros(channels)
        channels_in, channels = channels, channels * 2
    s["conv1.weight"] = 0.1 * torch.randn(1, channels_in, 3, 3, generator=gen)
    k = image_size // 2**repeat
    s["conv2.weight"] = 0.1 * torch.randn(labels, channels_in, k, k, generator=gen)
    return s


@pytest.mark.parametrize("batches_tracked", [True, False])
def test_imported_generator_reproduces_the_reference_forward(tmp_path, batches_tracked):
    state = reference_generator_state(batches_tracked=batches_tracked)
    torch.save(state, tmp_path / "200000-G.ckpt")
    code, output = invoke(
        "import-reference", tmp_path / "200000-G.ckpt", "--image-size", 128, "--out", tmp_path / "celeba-128"
    )
    assert code == 0, output
    generator, info = load_model(tmp_path / "celeba-128")
    assert info.step == 200000 and info.config.image_size == 128 and info.config.g_repeat_num == 6
    assert info.label_space.datasets[0].attributes == (
        "Black_Hair",
        "Blond_Hair",
        "Brown_Hair",
        "Male",
        "Young",
    )
    assert info.label_space.datasets[0].exclusive == (("Black_Hair", "Blond_Hair", "Brown_Hair"),)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    c = torch.tensor([[0, 1, 0, 1, 0], [1, 0, 0, 0, 1]], dtype=torch.float32)
    expected = reference_forward(state, x, c)
    with torch.no_grad():
        ours = generator(x, c)
    assert ours.shape == (2, 3, 32, 32) and (ours - expected).abs().max().item() < 1e-5
    assert expected.std().item() > 0.05  # a real signal, not a saturated or constant image


def test_discriminator_gives_the_image_size_and_translate_runs(tmp_path):
    torch.save(reference_generator_state(dim=8, blocks=2), tmp_path / "G.ckpt")
    torch.save(reference_discriminator_state(), tmp_path / "D.ckpt")
    out = tmp_path / "model"
    code, output = invoke(
        "import-reference", tmp_path / "G.ckpt", "--discriminator", tmp_path / "D.ckpt", "--out", out
    )
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == ["discriminator.safetensors", "generator.safetensors"]
    _, info = load_model(out, "discriminator")
    assert info.config.image_size == 128 and info.config.d_conv_dim == 4
    face = tmp_path / "face.png"
    Image.fromarray(np.full((150, 150, 3), 120, np.uint8)).save(face)
    code, output = invoke("translate", face, "--no-detect", "--model", out, "--to", "blond,young=0")
    assert code == 0, output
    assert Image.open(tmp_path / "face_blond_young-0.png").size == (150, 150)


def test_wrong_size_or_label_count_says_what_it_expected_and_found(tmp_path):
    torch.save(reference_generator_state(labels=8, dim=8, blocks=2), tmp_path / "G8.ckpt")
    code, output = invoke(
        "import-reference", tmp_path / "G8.ckpt", "--image-size", 128, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, "trained on 8 labels .*but 5 attributes were given")
    torch.save(reference_generator_state(dim=8, blocks=2), tmp_path / "G.ckpt")
    torch.save(reference_discriminator_state(image_size=256), tmp_path / "D.ckpt")
    code, output = invoke(
        "import-reference", tmp_path / "G.ckpt", "--discriminator", tmp_path / "D.ckpt",
        "--image-size", 128, "--out", tmp_path / "o",
    )  # fmt: skip
    assert_one_line_error(code, output, "--image-size 128 was given, but .*D.ckpt was trained at 256x256")
    code, output = invoke("import-reference", tmp_path / "G.ckpt", "--out", tmp_path / "o")
    assert_one_line_error(code, output, "does not tell its image size")
    code, output = invoke(
        "import-reference", tmp_path / "D.ckpt", "--image-size", 256, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, "residual blocks|not a generator")
    assert not (tmp_path / "o").exists()


class Payload:
    """Unpickling this would create a file: proof that the importer never unpickles arbitrary objects."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_with_python_objects_is_refused_unopened(tmp_path):
    marker = tmp_path / "pwned"
    state = reference_generator_state(dim=8, blocks=2)
    state["extra"] = Payload(str(marker))
    torch.save(state, tmp_path / "evil-G.ckpt")
    code, output = invoke(
        "import-reference", tmp_path / "evil-G.ckpt", "--image-size", 128, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, "holds Python objects other than tensors, so it was refused")
    assert not marker.exists()
    (tmp_path / "junk-G.ckpt").write_bytes(b"not a checkpoint at all")
    code, output = invoke(
        "import-reference", tmp_path / "junk-G.ckpt", "--image-size", 128, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, "junk-G.ckpt is not a readable PyTorch checkpoint|refused")
