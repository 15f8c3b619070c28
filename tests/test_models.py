import pytest
import torch
from torch import nn

from stargan_cli.errors import ConfigError
from stargan_cli.models import ARCHITECTURES, get_architecture
from stargan_cli.models.stargan import StarGANConfig, build

from .conftest import TINY_MODEL


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("config", "labels", "classes", "g_params", "d_params"),
    [
        (StarGANConfig(), 5, 5, 8_430_528, 44_762_048),
        (StarGANConfig(), 8, 8, 8_439_936, None),
        (StarGANConfig(), 15, 13, 8_461_888, 44_827_584),
        (StarGANConfig(image_size=256), 5, 5, 8_430_528, 44_884_928),
    ],
)
def test_paper_parameter_counts(config, labels, classes, g_params, d_params):
    generator, discriminator = build(config, labels, classes)
    assert count(generator) == g_params
    if d_params is not None:
        assert count(discriminator) == d_params


def test_state_dict_uses_the_reference_layout():
    generator, discriminator = build(StarGANConfig(), 5, 5)
    g = {k: tuple(v.shape) for k, v in generator.state_dict().items()}
    assert g["main.0.weight"] == (64, 8, 7, 7)
    assert g["main.3.weight"] == (128, 64, 4, 4) and g["main.6.weight"] == (256, 128, 4, 4)
    for block in range(9, 15):
        assert g[f"main.{block}.main.0.weight"] == (256, 256, 3, 3)
        assert g[f"main.{block}.main.3.weight"] == (256, 256, 3, 3)
        for norm in (1, 4):
            for buffer in ("weight", "bias", "running_mean", "running_var"):
                assert g[f"main.{block}.main.{norm}.{buffer}"] == (256,)
    assert g["main.15.weight"] == (256, 128, 4, 4) and g["main.18.weight"] == (128, 64, 4, 4)
    assert g["main.21.weight"] == (3, 64, 7, 7)
    assert {k.split(".")[1] for k in g if k.startswith("main.") and k.count(".") == 2} == {
        "0",
        "1",
        "3",
        "4",
        "6",
        "7",
        "15",
        "16",
        "18",
        "19",
        "21",
    }
    d = {k: tuple(v.shape) for k, v in discriminator.state_dict().items()}
    assert [d[f"main.{i}.weight"][0] for i in (0, 2, 4, 6, 8, 10)] == [64, 128, 256, 512, 1024, 2048]
    assert all(f"main.{i}.bias" in d for i in (0, 2, 4, 6, 8, 10))
    assert d["conv1.weight"] == (1, 2048, 3, 3) and d["conv2.weight"] == (5, 2048, 2, 2)
    assert "conv1.bias" not in d and "conv2.bias" not in d


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_runs_forward_and_backward(name):
    arch = get_architecture(name)
    config = arch.config_class(**TINY_MODEL)
    generator, discriminator = arch.build(config, 7, 5)
    x, c = torch.rand(3, 3, 16, 16) * 2 - 1, torch.rand(3, 7).round()
    fake = generator(x, c)
    src, cls = discriminator(fake)
    assert fake.shape == (3, 3, 16, 16) and fake.abs().max() <= 1
    assert src.shape == (3, 1, 4, 4) and cls.shape == (3, 5)
    (src.mean() + cls.sum()).backward()
    assert all(p.grad is not None for p in generator.parameters())


def test_instance_statistics_in_train_and_eval_mode():
    generator, _ = build(StarGANConfig(**TINY_MODEL), 5, 5)
    x, c = torch.rand(2, 3, 16, 16), torch.ones(2, 5)
    train_out = generator.train()(x, c)
    eval_out = generator.eval()(x, c)
    torch.testing.assert_close(train_out, eval_out)
    # per-image statistics: an image's output does not depend on the rest of the batch
    torch.testing.assert_close(generator(x[:1], c[:1]), eval_out[:1])


def test_invalid_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="multiple of 2\\*\\*model.d_repeat_num"):
        StarGANConfig(image_size=100)
    with pytest.raises(ConfigError, match="unknown architecture 'stargn'.*Did you mean 'stargan'"):
        get_architecture("stargn")


def test_residual_generator_starts_as_the_identity_and_keeps_the_layout():
    config = StarGANConfig(**TINY_MODEL, g_residual=True)
    generator, _ = build(config, 5, 5)
    plain, _ = build(StarGANConfig(**TINY_MODEL), 5, 5)
    assert generator.state_dict().keys() == plain.state_dict().keys()  # checkpoints and names unchanged
    x = torch.rand(2, 3, 16, 16) * 1.8 - 0.9
    torch.testing.assert_close(generator(x, torch.ones(2, 5)), x, atol=1e-6, rtol=1e-5)
    torch.nn.init.normal_(generator.main[-2].weight, std=3.0)  # a large change still stays in [-1, 1]
    y = generator(x, torch.ones(2, 5))
    assert y.abs().max() <= 1 and (y - x).abs().max() > 0.5
    with torch.no_grad():  # the output is tanh(atanh(x) + h), h the last convolution's output
        h = torch.cat([x, torch.ones(2, 5, 16, 16)], 1)
        for layer in list(generator.main)[:-1]:
            h = layer(h)
    torch.testing.assert_close(y, torch.tanh(torch.atanh(x) + h))


def test_residual_generator_exports_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    from stargan_cli.checkpoint import ModelInfo
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.onnx_models import export_onnx

    config = StarGANConfig(**TINY_MODEL, g_residual=True)
    generator, _ = build(config, 5, 5)
    torch.nn.init.normal_(generator.main[-2].weight, std=0.1)
    space = LabelSpace((DatasetLabels("toy", ("a", "b", "c", "d", "e"), "multi"),))
    info = ModelInfo("stargan", config, space, 0, "generator")
    assert export_onnx(generator, info, tmp_path / "g.onnx") < 1e-4


@pytest.mark.parametrize("skips", [1, 2])
def test_skip_generator_adds_the_encoder_maps_and_keeps_the_layout(skips):
    torch.manual_seed(0)
    generator, _ = build(StarGANConfig(**TINY_MODEL, g_down=2, g_skips=skips), 5, 5)
    plain, _ = build(StarGANConfig(**TINY_MODEL, g_down=2), 5, 5)
    assert generator.state_dict().keys() == plain.state_dict().keys()  # no parameters of its own
    plain.load_state_dict(generator.state_dict())
    x, c = torch.rand(2, 3, 16, 16) * 2 - 1, torch.ones(2, 5)
    layers = list(generator.main)
    stem, down1, down2 = (nn.Sequential(*layers[i : i + 3]) for i in (0, 3, 6))
    blocks = nn.Sequential(*layers[9 : 9 + TINY_MODEL["g_repeat_num"]])
    k = 9 + TINY_MODEL["g_repeat_num"]
    up1, up2, last = nn.Sequential(*layers[k : k + 3]), nn.Sequential(*layers[k + 3 : k + 6]), layers[k + 6]
    with torch.no_grad():  # written out: the 8x8 map joins the first up stage, the 16x16 one the second
        e0 = stem(torch.cat([x, c[:, :, None, None].expand(-1, -1, 16, 16)], 1))
        e1 = down1(e0)
        h = up1(blocks(down2(e1))) + e1
        h = up2(h) + (e0 if skips == 2 else 0)
        expected = torch.tanh(last(h))
        assert (expected - plain(x, c)).abs().max() > 1e-3  # the skips change the output
    torch.testing.assert_close(generator(x, c), expected)
    with pytest.raises(ConfigError, match="model.g_skips must be between 0 and model.g_down \\(2\\), got 3"):
        StarGANConfig(**TINY_MODEL, g_down=2, g_skips=3)
