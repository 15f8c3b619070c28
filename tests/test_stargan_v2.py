"""StarGAN v2's networks against its reference code's measurements (parameter counts and state_dict keys
of clovaai/stargan-v2 at 875b70a, measured by running its core/model.py: ../shared facts sheet, section 1)."""

from __future__ import annotations

import pytest
import torch

from stargan_cli.models.stargan_v2 import Discriminator, Generator, MappingNetwork, StyleEncoder


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def on_meta(build):
    with torch.device("meta"):
        return build()


# (image size, domains, w_hpf) -> generator, mapping network, style encoder, discriminator
REFERENCE_COUNTS = {
    (256, 2, 1): (43_467_395, 2_438_272, 20_916_928, 20_852_290),  # celeba_hq
    (256, 3, 0): (33_892_995, 3_259_072, 20_949_760, 20_852_803),  # afhq
    (128, 2, 0): (33_632_003, 2_438_272, 20_799_744, 20_735_106),
    (64, 2, 1): (42_209_283, 2_438_272, 20_327_808, 20_263_170),
    (32, 2, 0): (28_740_099, 2_438_272, 18_433_664, 18_369_026),
    (32, 3, 0): (28_740_099, 3_259_072, 18_466_496, 18_369_539),
}


@pytest.mark.parametrize(("size", "domains", "w_hpf"), sorted(REFERENCE_COUNTS))
def test_parameter_counts_are_the_references(size, domains, w_hpf):
    g = on_meta(lambda: Generator(size, w_hpf=w_hpf))
    f = on_meta(lambda: MappingNetwork(num_domains=domains))
    e = on_meta(lambda: StyleEncoder(size, num_domains=domains))
    d = on_meta(lambda: Discriminator(size, num_domains=domains))
    assert (count(g), count(f), count(e), count(d)) == REFERENCE_COUNTS[(size, domains, w_hpf)]


def test_state_dict_keys_are_the_references():
    g = on_meta(lambda: Generator(256, w_hpf=1)).state_dict()
    assert len(g) == 125 and list(g)[:4] == ["from_rgb.weight", "from_rgb.bias", "encode.0.conv1.weight",
                                               "encode.0.conv1.bias"]  # fmt: skip
    assert list(g)[-5:] == [
        "to_rgb.0.weight",
        "to_rgb.0.bias",
        "to_rgb.2.weight",
        "to_rgb.2.bias",
        "hpf.filter",
    ]
    assert tuple(g["from_rgb.weight"].shape) == (64, 3, 3, 3) and tuple(g["hpf.filter"].shape) == (3, 3)
    assert {f"decode.{i}.conv1x1.weight" for i in (4, 5, 6)} <= set(g)  # kept, unused with w_hpf 1
    assert "decode.4.norm1.fc.weight" in g
    assert len(on_meta(lambda: Generator(256, w_hpf=0)).state_dict()) == 108
    f = on_meta(lambda: MappingNetwork(num_domains=2)).state_dict()
    assert len(f) == 24 and list(f)[:2] == ["shared.0.weight", "shared.0.bias"]
    assert tuple(f["shared.0.weight"].shape) == (512, 16) and tuple(f["unshared.1.6.weight"].shape) == (
        64,
        512,
    )
    assert len(on_meta(lambda: MappingNetwork(num_domains=3)).state_dict()) == 32
    e = on_meta(lambda: StyleEncoder(256, num_domains=2)).state_dict()
    assert len(e) == 35 and tuple(e["shared.8.weight"].shape) == (512, 512, 4, 4)
    assert list(e)[-2:] == ["unshared.1.weight", "unshared.1.bias"]
    assert len(on_meta(lambda: StyleEncoder(256, num_domains=3)).state_dict()) == 37
    d = on_meta(lambda: Discriminator(256, num_domains=2)).state_dict()
    assert len(d) == 33 and list(d)[-2:] == ["main.10.weight", "main.10.bias"]
    assert tuple(d["main.10.weight"].shape) == (2, 512, 1, 1)


def test_shapes_and_what_the_domain_index_picks():
    torch.manual_seed(0)
    g, f = Generator(32, w_hpf=0, dim_in=8, max_conv_dim=16), MappingNetwork(num_domains=3)
    e, d = StyleEncoder(32, num_domains=3, dim_in=8, max_conv_dim=16), Discriminator(32, 3, 16, dim_in=8)
    x, z = torch.rand(4, 3, 32, 32) * 2 - 1, torch.randn(4, 16)
    y = torch.tensor([0, 2, 1, 2])
    s = f(z, y)
    assert s.shape == (4, 64) and g(x, s).shape == (4, 3, 32, 32)
    every = [f(z, torch.full((4,), k)) for k in range(3)]
    assert all(torch.equal(s[i], every[int(y[i])][i]) for i in range(4))
    assert e(x, y).shape == (4, 64) and d(x, y).shape == (4,)
    logits = d.main(x).flatten(1)
    assert torch.equal(d(x, y), logits[torch.arange(4), y])


def test_w_hpf_drops_the_decoder_shortcuts_and_the_high_pass_adds_the_masked_encoder_features():
    torch.manual_seed(0)
    g = Generator(32, w_hpf=1, dim_in=8, max_conv_dim=16)
    block = g.decode[-1]
    x, s = torch.randn(2, 16, 16, 16), torch.randn(2, 64)
    assert torch.equal(block(x, s), block._residual(x, s))  # no shortcut, no 1/sqrt(2)
    kernel = g.hpf.filter
    assert torch.equal(kernel, torch.tensor([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]]))
    flat = torch.ones(1, 2, 5, 5)
    assert g.hpf(flat)[0, :, 2, 2].tolist() == [0.0, 0.0]  # a flat image has no high frequencies
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    masks = (torch.ones(2, 1, 32, 32), torch.ones(2, 1, 32, 32))
    assert not torch.equal(g(x, s, masks), g(x, s))
