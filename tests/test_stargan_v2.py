"""StarGAN v2's networks against its reference code's measurements: the parameter counts and state_dict keys
that clovaai/stargan-v2's core/model.py (commit 875b70a) builds, written out below; then the method itself."""

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


# ----- the method: training, resume, translation ------------------------------------------------------------
TINY = {"image_size": 16, "dim_in": 4, "max_conv_dim": 8, "style_dim": 8, "latent_dim": 4}
HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair")


def v2_recipe(tmp_path, dataset, steps: int = 4):
    from .method_helpers import write_recipe

    train = {"steps": steps, "decay_start": steps, "g_lr": 1e-4, "d_lr": 1e-4, "beta1": 0.0, "beta2": 0.99,
             "weight_decay": 1e-4, "ema": 0.999, "log_every": 1, "sample_every": 2, "checkpoint_every": 2,
             "seed": 777}  # fmt: skip
    return write_recipe(tmp_path / "v2.toml", {
        "data": {"datasets": [str(dataset)], "batch_size": 2, "sample_count": 2},
        "model": {"architecture": "stargan_v2", **TINY, "domains": list(HAIR)},
        "loss": {"ds_iter": 4},
        "train": train,
        "output": {"runs_dir": str(tmp_path / "runs")},
    })  # fmt: skip


def test_a_tiny_stargan_v2_trains_resumes_bit_for_bit_and_translates(toy_dataset, tmp_path):
    import json

    from safetensors.torch import load_file

    import stargan_cli as sg
    from stargan_cli.config import load_recipe
    from stargan_cli.train.loop import train

    recipe = load_recipe(v2_recipe(tmp_path, toy_dataset))[0]
    straight = train(recipe).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    names = sorted(k for k in records[0] if "/" in k and k != "images/s")
    assert names == sorted(f"{p}/{m}_{t}" for m in ("latent", "ref") for p, ts in
                           (("D", ("real", "fake", "reg")), ("G", ("adv", "sty", "ds", "cyc"))) for t in ts)  # fmt: skip
    stopped = train(recipe, stop_at=2).run_dir
    train(resume=stopped)
    for path in sorted((straight / "checkpoints" / "step-0000004").glob("*.safetensors")):
        a, b = load_file(path), load_file(stopped / "checkpoints" / "step-0000004" / path.name)
        assert all(torch.equal(a[k], b[k]) for k in a), path.name
    assert sorted(p.name for p in straight.glob("*.safetensors")) == [
        "generator.safetensors", "mapping_network.safetensors", "style_encoder.safetensors"
    ]  # fmt: skip
    model = sg.load(straight)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    three = model(x, to="blond", seed=5, samples=3)
    assert len(three) == 3 and all(o.shape == (2, 3, 16, 16) for o in three)
    assert not torch.equal(three[0], three[1])
    assert model(x, to="brown", reference=x[:1]).shape == (2, 3, 16, 16)
    with pytest.raises(Exception, match="translates to Black_Hair, Blond_Hair, Brown_Hair"):
        model(x, to="male")

    # ONNX: each network (integer domain inputs) and both paths as single graphs, parity-checked
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime

    from stargan_cli.export import export
    from stargan_cli.models.spec import Guide

    exported = export(straight, tmp_path / "onnx", fmt="onnx")
    assert [p.name for p in exported.files] == ["generator.onnx", "mapping_network.onnx", "style_encoder.onnx",
                                                 "latent.onnx", "reference.onnx"]  # fmt: skip
    assert exported.max_abs_diff < 1e-4
    onnx_model = sg.load(tmp_path / "onnx" / "generator.onnx")
    for kwargs in ({"seed": 5}, {"reference": x[:1]}):
        assert (onnx_model(x, to="blond", **kwargs) - model(x, to="blond", **kwargs)).abs().max() < 1e-4
    latent = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "latent.onnx"))
    noise = Guide(seed=5).noise(4).expand(2, -1).numpy()
    (got,) = latent.run(None, {"image": x.numpy(), "noise": noise, "domain": np.array([1, 1])})
    assert np.abs(got - model(x, to="blond", seed=5).numpy()).max() < 1e-4  # Blond_Hair: domain 1


def test_every_loss_term_against_numbers_computed_by_hand():
    """Each logged term of the four phases recomputed from the networks with plain torch (BCE with logits
    as softplus, R1 by autograd, L1 as element means), and the phase totals with the weights applied."""
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.models.stargan_v2 import StarGANv2Config, build
    from stargan_cli.objectives.spec import ObjectiveContext
    from stargan_cli.objectives.stargan_v2 import StarGANv2Batch, StarGANv2Loss, StarGANv2Objective

    torch.manual_seed(0)
    space = LabelSpace((DatasetLabels("pets", ("cat", "dog", "wild"), "single"),))
    config = StarGANv2Config(image_size=16, dim_in=4, max_conv_dim=8, style_dim=8, latent_dim=4)
    nets = build(config, space)
    loss_cfg = StarGANv2Loss(lambda_reg=2.0, lambda_cyc=3.0, lambda_sty=0.5, lambda_ds=1.5, ds_iter=10)
    context = ObjectiveContext(space, {}, 0, 0, 1, torch.device("cpu"), config)
    objective = StarGANv2Objective(loss_cfg, context)
    x, ref, ref2 = (torch.rand(3, 3, 16, 16) * 2 - 1 for _ in range(3))
    z, z2 = torch.randn(3, 4), torch.randn(3, 4)
    y_org, y_trg = torch.tensor([0, 1, 2]), torch.tensor([2, 2, 0])
    step = 5
    weight = 1.5 * (1 - (step - 1) / 10)
    batch = StarGANv2Batch(x, y_org, y_trg, ref, ref2, z, z2, weight)
    g, f, e, d = (nets[n] for n in ("generator", "mapping_network", "style_encoder", "discriminator"))
    sp = torch.nn.functional.softplus

    for mode, s1, s2 in (("latent", f(z, y_trg), f(z2, y_trg)), ("ref", e(ref, y_trg), e(ref2, y_trg))):
        loss, logs = objective.loss(f"D {mode}", nets, batch, {})
        xr = x.clone().requires_grad_(True)
        real = d(xr, y_org)
        (grad,) = torch.autograd.grad(real.sum(), xr)
        want = {
            f"D/{mode}_real": sp(-real).mean(),
            f"D/{mode}_fake": sp(d(g(x, s1), y_trg)).mean(),
            f"D/{mode}_reg": 0.5 * grad.pow(2).sum((1, 2, 3)).mean(),
        }
        for k, v in want.items():
            assert logs[k].item() == pytest.approx(v.item(), rel=1e-5, abs=1e-7), k
        total = want[f"D/{mode}_real"] + want[f"D/{mode}_fake"] + 2.0 * want[f"D/{mode}_reg"]
        assert loss.item() == pytest.approx(total.item(), rel=1e-5)

        loss, logs = objective.loss(f"G {mode}", nets, batch, {})
        fake, fake2 = g(x, s1), g(x, s2)
        want = {
            f"G/{mode}_adv": sp(-d(fake, y_trg)).mean(),
            f"G/{mode}_sty": (e(fake, y_trg) - s1).abs().mean(),
            f"G/{mode}_ds": (fake - fake2).abs().mean(),
            f"G/{mode}_cyc": (g(fake, e(x, y_org)) - x).abs().mean(),
        }
        for k, v in want.items():
            assert logs[k].item() == pytest.approx(v.item(), rel=1e-5, abs=1e-7), k
        total = (want[f"G/{mode}_adv"] + 0.5 * want[f"G/{mode}_sty"] - weight * want[f"G/{mode}_ds"]
                 + 3.0 * want[f"G/{mode}_cyc"])  # fmt: skip
        assert loss.item() == pytest.approx(total.item(), rel=1e-5)
    # the batch from a class-balanced draw: references and noise in place, lambda_ds decayed by the step
    from stargan_cli.objectives.spec import Draw

    draw = Draw(x, torch.zeros(3, 3), 0, (z.numpy(), z2.numpy()), domains=y_org, target_domains=y_trg,
                references=torch.stack([ref, ref2], 1))  # fmt: skip
    (made,) = objective.batches([draw], step)
    assert made.lambda_ds == pytest.approx(weight) and weight == pytest.approx(0.9)  # 1.5 x (1 - 4 / 10)
    assert torch.equal(made.x_ref2, ref2) and torch.equal(made.z_trg2, z2) and torch.equal(made.y_trg, y_trg)
    assert (
        objective.batches([draw], 11)[0].lambda_ds == 0.0 and objective.batches([draw], 1)[0].lambda_ds == 1.5
    )


# ----- import of released weights ---------------------------------------------------------------------------
def released_file(tmp_path, w_hpf: float = 0.0, name: str = "100000_nets_ema.ckpt"):
    """A file as the reference's CheckpointIO writes `*_nets_ema.ckpt`: one dict of state_dicts, no
    `module.` prefix, the FAN beside them (a stand-in here), no `hpf.filter` (trained before April 2021)."""
    torch.manual_seed(4)
    nets = {
        "generator": Generator(32, 8, 16, w_hpf, dim_in=8),
        "mapping_network": MappingNetwork(4, 8, 3),
        "style_encoder": StyleEncoder(32, 8, 3, 16, dim_in=8),
    }
    states = {n: net.state_dict() for n, net in nets.items()}
    states["generator"].pop("hpf.filter", None)
    states["fan"] = {"conv1.conv.weight": torch.zeros(64, 6, 7, 7)}
    (tmp_path / "afhq").mkdir(exist_ok=True)
    torch.save(states, tmp_path / "afhq" / name)
    return tmp_path / "afhq" / name, nets


def test_released_networks_import_by_name_and_translate_as_the_reference_computes(tmp_path):
    import stargan_cli as sg

    from .cli_helpers import assert_one_line_error, invoke

    path, nets = released_file(tmp_path)
    code, output = invoke("import-reference", path, "--method", "stargan_v2", "--image-size", 32,
                          "--attributes", "cat,dog,wild", "--out", tmp_path / "m")  # fmt: skip
    assert code == 0, output
    model = sg.load(tmp_path / "m")
    info = model.translator.info
    assert (info.step, info.weights, info.config.dim_in, info.config.w_hpf) == (100000, "ema", 8, 0.0)
    assert info.label_space.datasets[0].attributes == ("cat", "dog", "wild")
    x, ref = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    dog = torch.tensor([1, 1])
    with torch.no_grad():
        z = torch.randn(1, 4, generator=torch.Generator().manual_seed(9)).expand(2, -1)
        latent = nets["generator"](x, nets["mapping_network"](z, dog)).clamp(-1, 1)
        by_ref = nets["generator"](x, nets["style_encoder"](ref.expand(2, -1, -1, -1), dog)).clamp(-1, 1)
    assert torch.equal(model(x, to="dog", seed=9), latent)
    assert torch.equal(model(x, to="dog", reference=ref), by_ref)

    code, output = invoke("import-reference", path, "--method", "stargan_v2", "--image-size", 32,
                          "--attributes", "cat,dog", "--out", tmp_path / "n")  # fmt: skip
    assert_one_line_error(code, output, "translates between 3 domains; name them with --attributes")
    code, output = invoke("import-reference", path, "--method", "stargan_v2", "--image-size", 64,
                          "--attributes", "cat,dog,wild", "--out", tmp_path / "n")  # fmt: skip
    assert_one_line_error(
        code, output, "downsamples 1 times, which fits no 64 px model; pass the --image-size"
    )
    hpf, _ = released_file(tmp_path, w_hpf=1.0, name="050000_nets_ema.ckpt")
    code, output = invoke("import-reference", hpf, "--method", "stargan_v2", "--image-size", 32,
                          "--attributes", "cat,dog,wild", "--out", tmp_path / "n")  # fmt: skip
    assert_one_line_error(code, output, "high-pass branch .* landmark network of wing.ckpt")
    assert not (tmp_path / "n").exists()


def test_training_the_high_pass_branch_is_refused_in_one_line(toy_dataset, tmp_path):
    from .cli_helpers import assert_one_line_error, invoke

    recipe = v2_recipe(tmp_path, toy_dataset)
    code, output = invoke("train", recipe, "--set", "model.image_size=16", "--set", "model.w_hpf=1")
    assert_one_line_error(code, output, "model.w_hpf > 0 trains with masks from the landmark network")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ----- two processes equal to one ---------------------------------------------------------------------------
GLOBAL = 4  # the global batch; 2 rows per process


def v2_networks():
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.models.stargan_v2 import StarGANv2Config, build

    torch.manual_seed(0)
    space = LabelSpace((DatasetLabels("pets", ("cat", "dog", "wild"), "single"),))
    return build(StarGANv2Config(image_size=16, dim_in=4, max_conv_dim=8, style_dim=8, latent_dim=4), space)


def v2_gradients(networks, rank: int = 0, world: int = 1, backward=None) -> dict[str, torch.Tensor]:
    """The gradients of each of the four phases (every network's, by `phase:network.parameter`) on this
    process's rows of a fixed global batch: every process draws the whole batch from one seed."""
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.models.stargan_v2 import StarGANv2Config
    from stargan_cli.objectives.spec import ObjectiveContext
    from stargan_cli.objectives.stargan_v2 import PHASES, StarGANv2Batch, StarGANv2Loss, StarGANv2Objective

    space = LabelSpace((DatasetLabels("pets", ("cat", "dog", "wild"), "single"),))
    config = StarGANv2Config(image_size=16, dim_in=4, max_conv_dim=8, style_dim=8, latent_dim=4)
    context = ObjectiveContext(space, {}, 0, rank, world, torch.device("cpu"), config)
    objective = StarGANv2Objective(StarGANv2Loss(lambda_reg=2.0, lambda_ds=1.5), context)
    gen = torch.Generator().manual_seed(7)
    x, ref, ref2 = (torch.rand(GLOBAL, 3, 16, 16, generator=gen) * 2 - 1 for _ in range(3))
    z, z2 = torch.randn(GLOBAL, 4, generator=gen), torch.randn(GLOBAL, 4, generator=gen)
    y_org, y_trg = torch.tensor([0, 1, 2, 0]), torch.tensor([2, 2, 0, 1])
    part = slice(rank * GLOBAL // world, (rank + 1) * GLOBAL // world)
    batch = StarGANv2Batch(x[part], y_org[part], y_trg[part], ref[part], ref2[part], z[part], z2[part], 1.5)
    backward = backward or (lambda loss: loss.backward())
    grads = {}
    for phase in PHASES:
        for net in networks.values():
            net.zero_grad()
        loss, _ = objective.loss(phase, networks, batch, {})
        backward(loss)
        grads |= {f"{phase}:{n}.{k}": p.grad.clone() for n, net in networks.items()
                  for k, p in net.named_parameters() if p.grad is not None}  # fmt: skip
    return grads


def test_two_processes_give_the_gradients_of_one(tmp_path):
    """Accelerate's DDP over two gloo processes, each with half the batch: every phase's gradients of every
    network equal one process's over the whole batch (R1 and the diversity term included)."""
    from .spawn import gradients_in_two_processes

    results = gradients_in_two_processes(v2_networks, v2_gradients, tmp_path)
    expected = v2_gradients(v2_networks())
    assert {k.split(":")[0] for k in expected} == {"D latent", "D ref", "G latent", "G ref"}
    assert (
        "G latent:mapping_network.shared.0.weight" in expected
        and "G ref:generator.from_rgb.weight" in expected
    )
    for got in results:
        assert got.keys() == expected.keys()
        for name, value in expected.items():  # biases before an instance norm get rounding only
            assert (got[name] - value).abs().max() <= 1e-5 * value.abs().max() + 1e-7, name
    assert expected["D latent:discriminator.main.0.weight"].abs().sum() > 0


def test_a_residual_generator_starts_as_the_identity_with_the_references_names():
    """model.residual (the toy recipe's): the output is the input plus to_rgb's, whose last convolution starts
    at zero; the state_dict is the reference's, and imported files never turn it on."""
    from stargan_cli.models.stargan_v2 import StarGANv2Config

    torch.manual_seed(0)
    plain, residual = (
        Generator(32, w_hpf=0, dim_in=8, max_conv_dim=16),
        Generator(32, w_hpf=0, dim_in=8, max_conv_dim=16, residual=True),
    )
    assert list(plain.state_dict()) == list(residual.state_dict())
    x, s = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 64)
    assert torch.equal(residual(x, s), x)
    residual.load_state_dict(plain.state_dict())
    assert torch.allclose(residual(x, s), x + plain(x, s), atol=1e-6)
    assert StarGANv2Config().residual is False


def test_built_networks_start_from_the_references_he_initialisation():
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.models.stargan_v2 import StarGANv2Config, build

    torch.manual_seed(0)
    space = LabelSpace((DatasetLabels("pets", ("cat", "dog", "wild"), "single"),))
    nets = build(StarGANv2Config(image_size=32, dim_in=16, max_conv_dim=64, residual=True), space)
    shared = nets["mapping_network"].shared[2]  # Linear(512, 512): He normal std sqrt(2 / 512) = 0.0625
    assert abs(shared.weight.std().item() - 0.0625) < 0.002 and shared.bias.abs().max().item() == 0
    conv = nets["discriminator"].main[0]  # Conv2d(3, 16, 3): std sqrt(2 / 27)
    assert abs(conv.weight.std().item() - (2 / 27) ** 0.5) < 0.05 and conv.bias.abs().max().item() == 0
    norm = nets["generator"].encode[0].norm1
    assert torch.equal(norm.weight, torch.ones_like(norm.weight)) and torch.equal(
        norm.bias, torch.zeros_like(norm.bias)
    )
    assert nets["generator"].to_rgb[2].weight.abs().max().item() == 0  # residual: still the identity
    z = torch.randn(64, 16)
    s = nets["mapping_network"](z, torch.zeros(64, dtype=torch.long))
    assert (
        s.std(0).mean().item() > 0.1
    )  # sampled styles differ from the start (0.0006 with PyTorch's default init)


def test_the_serve_page_offers_the_models_domains_only(toy_dataset, tmp_path):
    """A v2 model on toy-celeba translates to its three hair colours: the page's one control is that choice
    (no Male or Young sliders, which the model would refuse)."""
    from stargan_cli.config import load_recipe
    from stargan_cli.serve.service import controls
    from stargan_cli.train.loop import train
    from stargan_cli.translate import LoadedModel

    run = train(load_recipe(v2_recipe(tmp_path, toy_dataset, steps=1))[0]).run_dir
    (page,) = controls(LoadedModel.load(run))
    assert page["controls"] == [{"kind": "choice", "label": "domain", "strength": False, "options": [
        {"label": h, "to": h} for h in ("Black_Hair", "Blond_Hair", "Brown_Hair")]}]  # fmt: skip
