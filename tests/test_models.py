import copy

import pytest
import torch

from stargan_cli.errors import ConfigError
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.methods import METHODS, get_method
from stargan_cli.models.stargan import StarGANConfig

from . import method_helpers
from .conftest import TINY_MODEL


def count(module):
    return sum(p.numel() for p in module.parameters())


def space(*sizes: int) -> LabelSpace:
    """Datasets of these attribute counts (several: a mask after them in G's label)."""
    return LabelSpace(
        tuple(DatasetLabels(f"d{i}", tuple(f"a{j}" for j in range(n))) for i, n in enumerate(sizes))
    )


def build(config, *sizes):
    return method_helpers.networks(config, space(*sizes))


@pytest.mark.parametrize(
    ("config", "sizes", "g_params", "d_params"),
    [
        (StarGANConfig(), (5,), 8_430_528, 44_762_048),  # CelebA: 5 labels, 5 classes
        (StarGANConfig(), (8,), 8_439_936, None),  # RaFD
        (StarGANConfig(), (5, 8), 8_461_888, 44_827_584),  # both: 15 labels (mask), 13 classes
        (StarGANConfig(image_size=256), (5,), 8_430_528, 44_884_928),
    ],
)
def test_paper_parameter_counts(config, sizes, g_params, d_params):
    generator, discriminator = build(config, *sizes)
    assert count(generator) == g_params
    if d_params is not None:
        assert count(discriminator) == d_params


def test_state_dict_uses_the_reference_layout():
    generator, discriminator = build(StarGANConfig(), 5)
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


# per method: a tiny model config, a label space, a dataset of it and three targets in it
CASES = {
    "stargan": (TINY_MODEL, space(2, 3), 1, torch.eye(3)[[0, 1, 2]]),
    "cyclegan": (
        {"image_size": 32, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2},
        LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),)),
        0,
        torch.eye(2)[[1, 1, 0]],
    ),
    "ugatit": (
        {"image_size": 32, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_global": 5, "n_layers_local": 3},
        LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),)),
        0,
        torch.eye(2)[[1, 0, 1]],
    ),
    "unit": (
        {"image_size": 32, "dim": 4, "n_res": 2, "dis_dim": 4, "dis_layers": 3, "dis_scales": 2},
        LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),)),
        0,
        torch.eye(2)[[0, 1, 1]],
    ),
    "stargan_v2": (
        {"image_size": 16, "dim_in": 4, "max_conv_dim": 8, "style_dim": 8, "latent_dim": 4},
        LabelSpace((DatasetLabels("pets", ("cat", "dog", "wild"), "single"),)),
        0,
        torch.eye(3)[[2, 0, 1]],
    ),
}


def test_every_method_has_a_test_case():
    assert sorted(CASES) == sorted(METHODS)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_builds_its_networks_and_translates_through_its_translator(name):
    settings, labels, dataset, targets = CASES[name]
    model = get_method(name).model
    config = model.config(**settings)
    networks = model.build(config, labels)
    assert tuple(networks) == model.networks
    translator = model.translator(networks, labels, config)
    size = config.image_size
    x = torch.rand(3, 3, size, size) * 2 - 1
    fake = translator.translate(x, dataset, targets)
    assert fake.shape == (3, 3, size, size) and fake.abs().max() <= 1
    fake.mean().backward()
    assert all(p.grad is not None for p in networks["generator"].parameters())
    source = translator.read_source(x, dataset)
    assert source is None or source.shape == targets.shape
    assert set(translator.targets(dataset)) <= set(labels.datasets[dataset].attributes)


def test_stargan_networks_and_translator_follow_the_label_space():
    labels = LabelSpace((DatasetLabels("a", ("p", "q")), DatasetLabels("b", ("x", "y", "z"), "single")))
    generator, discriminator = method_helpers.networks(StarGANConfig(**TINY_MODEL), labels)  # [2|3|2]: 7
    x, c = torch.rand(3, 3, 16, 16) * 2 - 1, torch.rand(3, 7).round()
    src, cls = discriminator(generator(x, c))
    assert src.shape == (3, 1, 4, 4) and cls.shape == (3, 5)
    seen = []
    generator.register_forward_pre_hook(lambda _, args: seen.append(args[1]))
    translator = get_method("stargan").model.translator({"generator": generator}, labels, None)
    translator.translate(x, 1, torch.eye(3)[[2, 0, 1]])  # the second dataset's slice and its mask bit
    assert seen[0].tolist() == [[0, 0, 0, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0, 1]]
    assert translator.read_source(x, 0) is None  # no discriminator given: it cannot read attributes
    both = {"generator": generator, "discriminator": discriminator}
    with_d = get_method("stargan").model.translator(both, labels, None)
    _, logits = discriminator(x)
    assert torch.equal(with_d.read_source(x, 0), (logits[:, :2] > 0).float())
    assert torch.equal(with_d.read_source(x, 1), torch.eye(3)[logits[:, 2:].argmax(1)])


def test_instance_statistics_in_train_and_eval_mode():
    generator, _ = build(StarGANConfig(**TINY_MODEL), 5)
    x, c = torch.rand(2, 3, 16, 16), torch.ones(2, 5)
    train_out = generator.train()(x, c)
    eval_out = generator.eval()(x, c)
    torch.testing.assert_close(train_out, eval_out)
    # per-image statistics: an image's output does not depend on the rest of the batch
    torch.testing.assert_close(generator(x[:1], c[:1]), eval_out[:1])


def test_nhwc_instance_norm_equals_instance_norm_forward_and_backward():
    """Issue 28: a channels_last map is normalised where it lies (no (1, N*C, H, W) copy) with
    F.instance_norm's numbers, forward and backward to 1e-5, and stays channels_last."""
    from stargan_cli.models.stargan import InstanceNorm

    torch.manual_seed(0)
    norm = InstanceNorm(6)
    torch.nn.init.uniform_(norm.weight, 0.5, 1.5)
    torch.nn.init.uniform_(norm.bias, -1, 1)
    x = torch.randn(3, 6, 9, 7) * 3 + 1
    plain = x.clone().requires_grad_()
    nhwc = x.clone().to(memory_format=torch.channels_last).requires_grad_()
    a, b = norm(plain), norm(nhwc)
    assert a.is_contiguous() and b.is_contiguous(memory_format=torch.channels_last) and not b.is_contiguous()
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b, torch.nn.functional.instance_norm(x, weight=norm.weight, bias=norm.bias))
    upstream = torch.randn_like(a)
    grads_a = torch.autograd.grad(a, [plain, norm.weight, norm.bias], upstream)
    grads_b = torch.autograd.grad(b, [nhwc, norm.weight, norm.bias], upstream)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(gb, ga, atol=1e-5, rtol=1e-5)


def test_first_convolution_pads_channels_last_input_to_16_channels_with_the_same_output(monkeypatch):
    """Issue 28: with channels_last weights the generator's first convolution runs on 16 input channels
    (3 + 5 labels + 8 zero channels, zero kernels): the same outputs and gradients, the stored weight keeps
    the reference's (64, 8, 7, 7) shape."""
    from stargan_cli.models.stargan import FirstConv

    generator, _ = build(StarGANConfig(**TINY_MODEL), 5)
    nhwc = copy.deepcopy(generator).to(memory_format=torch.channels_last)
    first = nhwc.main[0]
    assert isinstance(first, FirstConv) and first.weight.shape == (TINY_MODEL["g_conv_dim"], 8, 7, 7)
    shapes = []
    run = FirstConv._conv_forward
    monkeypatch.setattr(
        FirstConv, "_conv_forward", lambda self, x, w, b: shapes.append(w.shape) or run(self, x, w, b)
    )
    x, c = torch.rand(2, 3, 16, 16) * 2 - 1, torch.eye(5)[[1, 3]]
    a = generator(x, c)
    b = nhwc(x.to(memory_format=torch.channels_last), c)
    assert shapes == [(TINY_MODEL["g_conv_dim"], 8, 7, 7), (TINY_MODEL["g_conv_dim"], 16, 7, 7)]
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    a.square().sum().backward()
    b.square().sum().backward()
    expected = generator.main[0].weight.grad  # through a whole generator: summation order differs
    assert (first.weight.grad - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert nhwc.state_dict()["main.0.weight"].shape == generator.state_dict()["main.0.weight"].shape


def test_invalid_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="multiple of 2\\*\\*model.d_repeat_num"):
        StarGANConfig(image_size=100)
    with pytest.raises(ConfigError, match="unknown model.architecture 'stargn'.*Did you mean 'stargan'"):
        get_method("stargn")


def test_residual_generator_starts_as_the_identity_and_keeps_the_layout():
    generator, _ = build(StarGANConfig(**TINY_MODEL, g_residual=True), 5)
    plain, _ = build(StarGANConfig(**TINY_MODEL), 5)
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
    from stargan_cli.onnx_models import export_onnx

    config = StarGANConfig(**TINY_MODEL, g_residual=True)
    generator, _ = build(config, 5)
    torch.nn.init.normal_(generator.main[-2].weight, std=0.1)
    info = ModelInfo("stargan", config, space(5), 0, "generator")
    assert export_onnx(generator, info, tmp_path / "g.onnx") < 1e-4
