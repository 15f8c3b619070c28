"""UNIT: the reference's sizes and names, shared layers as shared tensors, its LayerNorm against the formula,
the losses (and the options') against hand-computed numbers, a tiny run that resumes bit for bit, export
(ONNX too), mixed precision, two processes, and import of a `gen_*.pt` file."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from stargan_cli.config import load_recipe
from stargan_cli.errors import CheckpointError, ConfigError
from stargan_cli.export import export
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.unit import LayerNorm, MultiScaleDiscriminator, UNITConfig, build
from stargan_cli.objectives.unit import UNITBatch, UNITLoss, UNITObjective
from stargan_cli.train.loop import train
from stargan_cli.train.schedule import learning_rate
from stargan_cli.translate import LoadedModel

from .method_helpers import (
    assert_onnx_exports_translate_as_pytorch,
    context,
    phase_gradients,
    process_share,
    two_domain_recipe,
)

PETS = LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),))
TINY = {"image_size": 32, "dim": 4, "n_downsample": 2, "n_res": 2, "dis_dim": 4, "dis_layers": 3,
        "dis_scales": 2}  # fmt: skip
TRAIN = TINY | {"image_size": 16, "dis_layers": 2}  # the toy dataset of the tests is 16 px


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def unique_count(networks) -> int:
    return sum(p.numel() for p in {id(p): p for n in networks.values() for p in n.parameters()}.values())


def test_the_reference_networks_have_its_sizes_names_and_outputs():
    with torch.device("meta"):
        master = build(UNITConfig(shared_layers=0), PETS)
        paper = build(UNITConfig(), PETS)
        outputs = master["discriminator_a"](torch.zeros(1, 3, 256, 256))
    g = master["generator"]
    assert count(g) == 11_140_483 and count(g.enc) == 5_385_856 and count(g.dec) == 5_754_627
    assert count(master["discriminator_a"]) == 8_271_171 == 3 * 2_757_057
    assert [o.shape[-1] for o in outputs] == [16, 8, 4]
    # one residual block of each encoder and each decoder is shared: 2 x 2 convolutions of 256 x 256 x 3 x 3
    assert unique_count(master) - unique_count(paper) == 4 * (256 * 256 * 9 + 256) == 2_360_320
    names = list(build(UNITConfig(**TINY), PETS)["generator"].state_dict())
    assert names[:4] == ["enc.model.0.conv.weight", "enc.model.0.conv.bias", "enc.model.1.conv.weight",
                         "enc.model.1.conv.bias"]  # fmt: skip
    assert "enc.model.3.model.1.model.1.conv.weight" in names  # stage 3: the blocks; block 1, its conv 2
    assert names[-6:] == ["dec.model.4.conv.weight", "dec.model.4.conv.bias", "dec.model.4.norm.gamma",
                          "dec.model.4.norm.beta", "dec.model.5.conv.weight", "dec.model.5.conv.bias"]  # fmt: skip
    d = list(MultiScaleDiscriminator(UNITConfig(**TINY)).state_dict())
    assert d[:2] == ["cnns.0.0.conv.weight", "cnns.0.0.conv.bias"] and d[-1] == "cnns.1.3.bias"
    assert not any("running" in n for n in names)  # every image normalised by itself: no buffers


def test_the_reference_initialisation():
    torch.manual_seed(0)
    nets = build(UNITConfig(dim=16, n_res=1, dis_dim=16), PETS)
    first = nets["generator"].enc.model[0].conv
    assert first.weight.std().item() == pytest.approx((2 / (3 * 49)) ** 0.5, rel=0.05)  # Kaiming, fan in
    assert first.bias.abs().max() == 0
    assert nets["discriminator_b"].cnns[0][1].conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    gamma = nets["generator"].dec.model[2].norm.gamma
    assert 0 <= gamma.min() and gamma.max() <= 1 and gamma.std() > 0.1  # uniform in [0, 1]
    assert nets["generator"].dec.model[2].norm.beta.abs().max() == 0


def test_shared_layers_are_the_same_tensors_in_both_directions():
    nets = build(UNITConfig(**TINY, shared_layers=1), PETS)
    ab, ba = nets["generator"], nets["generator_b"]
    enc_blocks = (ab.enc.model[3].model, ba.enc.model[3].model)
    dec_blocks = (ab.dec.model[0].model, ba.dec.model[0].model)
    assert enc_blocks[0][1] is enc_blocks[1][1] and enc_blocks[0][0] is not enc_blocks[1][0]  # the last
    assert dec_blocks[0][0] is dec_blocks[1][0] and dec_blocks[0][1] is not dec_blocks[1][1]  # the first
    shared = {id(p) for p in ab.parameters()} & {id(p) for p in ba.parameters()}
    assert len(shared) == 2 * 2 * 2  # two blocks, two convolutions each, weight and bias
    assert ab.enc.model[0].conv.weight is not ba.enc.model[0].conv.weight
    independent = build(UNITConfig(**TINY, shared_layers=0), PETS)
    ids = [{id(p) for p in independent[n].parameters()} for n in ("generator", "generator_b")]
    assert not ids[0] & ids[1]
    with pytest.raises(
        ConfigError, match=r"model.shared_layers must be between 0 and model.n_res \(2\), got 3"
    ):
        UNITConfig(**TINY, shared_layers=3)


def test_layer_norm_is_the_references_formula():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 5) * 3 + 1
    norm = LayerNorm(3)
    with torch.no_grad():
        norm.gamma.copy_(torch.tensor([2.0, 1.0, 0.5]))
        norm.beta.copy_(torch.tensor([0.0, 1.0, -1.0]))
    sample = x[1].flatten()
    mean, std = sample.mean(), ((sample - sample.mean()) ** 2).sum().div(59).sqrt()  # 60 values, unbiased
    torch.testing.assert_close(norm(x)[1, 2], (x[1, 2] - mean) / (std + 1e-5) * 0.5 - 1)


class StubGenerator(torch.nn.Module):
    """A direction whose encoder multiplies by `enc` and decoder by `dec`."""

    def __init__(self, enc: float, dec: float) -> None:
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, x, part="translate"):
        return {"encode": x * self.enc, "decode": x * self.dec, "translate": x * self.enc * self.dec}[part]


class StubDiscriminator(torch.nn.Module):
    """Two scales: the first channel times `factor`, and its mean; or only the first (a latent one)."""

    def __init__(self, factor: float, scales: bool = True) -> None:
        super().__init__()
        self.factor, self.scales = factor, scales

    def forward(self, x):
        first = x[:, :1] * self.factor
        return [first, first.mean((2, 3), keepdim=True)] if self.scales else first


def test_losses_match_numbers_computed_by_hand():
    networks = {
        "generator": StubGenerator(2.0, 0.5),  # E_a x2, G_b x0.5
        "generator_b": StubGenerator(-1.0, 3.0),  # E_b x-1, G_a x3
        "discriminator_a": StubDiscriminator(1.0),
        "discriminator_b": StubDiscriminator(2.0),
        "latent_discriminator": StubDiscriminator(1.0, scales=False),
    }
    batch = UNITBatch(torch.full((2, 3, 4, 4), 0.2), torch.full((2, 3, 4, 4), -0.4), None)
    options = {"latent_adversarial": 1.0, "semantic": 1.0}
    objective = UNITObjective(UNITLoss(**options), context(PETS))
    assert objective.phases(1) == ("discriminator", "generator")  # D first, as the reference
    with mock.patch("stargan_cli.objectives.unit._noise", lambda h, g: torch.zeros_like(h)):
        state = objective.forward(networks, batch, objective.phases(1))
        _, g = objective.loss("generator", networks, batch, state)
        _, d = objective.loss("discriminator", networks, batch, state)
        cosine = UNITObjective(UNITLoss(semantic=1.0, semantic_distance="cosine"), context(PETS))
        _, g_cos = cosine.loss("generator", networks, batch, state)
    # h_a = 0.4, h_b = 0.4; x_ab = x_b_recon = 0.2, x_ba = x_a_recon = 1.2; h_b_recon = 2.4, h_a_recon = -0.2;
    # x_aba = -0.6, x_bab = 1.2
    expected = {
        "G/adv_A": 2 * (1.2 - 1) ** 2,  # D_a(x_ba) = 1.2 at both scales
        "G/adv_B": 2 * (0.4 - 1) ** 2,  # D_b(x_ab) = 0.4
        "G/recon_A": 10 * abs(1.2 - 0.2),
        "G/recon_B": 10 * abs(0.2 + 0.4),
        "G/kl_A": 0.01 * 0.4**2,
        "G/kl_B": 0.01 * 0.4**2,
        "G/kl_cycle_A": 0.01 * 0.2**2,
        "G/kl_cycle_B": 0.01 * 2.4**2,
        "G/cycle_A": 10 * abs(-0.6 - 0.2),
        "G/cycle_B": 10 * abs(1.2 + 0.4),
        "G/latent": 2 * (0.4 - 0.5) ** 2,
        "G/semantic": abs(0.4 + 0.2) + abs(0.4 - 2.4),
    }
    assert g.keys() == expected.keys()
    for name, value in expected.items():
        assert g[name].item() == pytest.approx(value, rel=1e-5), name
    assert g_cos["G/semantic"].item() == pytest.approx(2.0)  # opposite codes (1 - -1), parallel ones (0)
    assert d["D_A/adv"].item() == pytest.approx(2 * 1.2**2 + 2 * (0.2 - 1) ** 2)  # 4.16
    assert d["D_B/adv"].item() == pytest.approx(2 * 0.4**2 + 2 * (-0.8 - 1) ** 2)  # 6.8
    assert d["D/latent"].item() == pytest.approx((0.4 - 1) ** 2 + 0.4**2)  # A's codes 1, B's 0
    plain = UNITObjective(UNITLoss(recon_x_cyc_w=0), context(PETS))
    with mock.patch("stargan_cli.objectives.unit._noise", lambda h, g: torch.zeros_like(h)):
        _, g_plain = plain.loss("generator", networks, batch, state)
    assert not {"G/cycle_A", "G/latent", "G/semantic"} & set(g_plain)  # each term only when weighted


def test_the_codes_get_fresh_noise_from_the_batch_seed_in_training_and_none_in_translation():
    torch.manual_seed(2)
    nets = build(UNITConfig(**TINY), PETS)
    x_a, x_b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    objective = UNITObjective(UNITLoss(), context(PETS))
    with torch.no_grad():
        state = objective.forward(
            nets, UNITBatch(x_a, x_b, torch.Generator().manual_seed(9)), ("discriminator",)
        )
        replay = torch.Generator().manual_seed(9)
        h_a = nets["generator"](x_a, part="encode")
        n_a = torch.randn(h_a.shape, generator=replay)
        torch.testing.assert_close(state["x_ab"], nets["generator"](h_a + n_a, part="decode"))
        translated = nets["generator"](x_a)
        assert (translated - state["x_ab"]).abs().max() > 1e-3  # the translation has no noise
        torch.testing.assert_close(translated, nets["generator"](h_a, part="decode"))


def test_the_step_decay_halves_the_rate_every_lr_step():
    rates = [learning_rate(1e-4, s, 10, 10, every=3) for s in (0, 2, 3, 6, 9)]
    assert rates == [1e-4, 1e-4, 5e-5, 2.5e-5, 1.25e-5]
    assert learning_rate(1e-4, 7, 10, 4, every=0) == pytest.approx(0.5e-4)  # 0: the linear decay
    path = "recipes/toyfaces_unit.toml"
    with pytest.raises(ConfigError, match="train.lr_step must be 0"):
        load_recipe(path, ["train.lr_step=-1"])
    with pytest.raises(ConfigError, match="loss.semantic_distance must be one of l1, cosine"):
        load_recipe(path, ["loss.semantic_distance=l2"])
    with pytest.raises(
        ConfigError, match="too small for 2 scales of 3-layer discriminators; use at least 16 px"
    ):
        load_recipe(path, ["model.image_size=8"])
    with pytest.raises(ConfigError, match="latent noise"):
        load_recipe(path, ["train.cuda_graphs=true"])


def unit_recipe(tmp_path, dataset, steps: int = 4, loss: str = ""):
    train_lines = "weight_decay = 1e-4\nlr_step = 2"
    return two_domain_recipe(tmp_path, dataset, "unit", TRAIN, steps, train=train_lines, loss=loss)


def test_a_tiny_unit_trains_resumes_bit_for_bit_exports_and_translates(toy_dataset, tmp_path):
    path = unit_recipe(tmp_path, toy_dataset, loss="latent_adversarial = 0.1\nsemantic = 1.0")
    straight = train(load_recipe(path)[0]).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    names = ["D/latent", "D_A/adv", "D_B/adv", "G/adv_A", "G/adv_B", "G/cycle_A", "G/cycle_B", "G/kl_A", "G/kl_B",
             "G/kl_cycle_A", "G/kl_cycle_B", "G/latent", "G/recon_A", "G/recon_B", "G/semantic"]  # fmt: skip
    assert [sorted(k for k in r if "/" in k and k != "images/s") for r in records] == [names] * 4
    assert [r["lr"] for r in records] == [1e-4, 5e-5, 5e-5, 2.5e-5]  # halved every 2 steps
    checkpoint = straight / "checkpoints" / "step-0000004"
    state = json.loads((checkpoint / "state.json").read_text())
    nets = build(UNITConfig(**TRAIN), PETS)
    assert state["networks"] == list(nets)
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=True)
    moments = sum(v["exp_avg"].numel() for v in optimizer["g_opt"]["state"].values())
    assert moments == unique_count({n: nets[n] for n in ("generator", "generator_b")})  # shared ones once
    ab, ba = (load_file(checkpoint / f"{n}.safetensors") for n in ("generator", "generator_b"))
    last, first = "enc.model.3.model.1.model.0.conv.weight", "dec.model.0.model.0.model.0.conv.weight"
    assert torch.equal(ab[last], ba[last]) and torch.equal(ab[first], ba[first])  # trained as one tensor
    assert not torch.equal(ab["enc.model.0.conv.weight"], ba["enc.model.0.conv.weight"])
    latent = load_file(checkpoint / "latent_discriminator.safetensors")
    assert not torch.equal(latent["model.2.weight"], load_file(straight / "checkpoints" / "step-0000002" /
                                                               "latent_discriminator.safetensors")["model.2.weight"])  # fmt: skip

    stopped = train(load_recipe(path)[0], stop_at=2).run_dir  # interrupted after step 2, then resumed
    train(resume=stopped)
    for name in state["networks"]:
        a = load_file(checkpoint / f"{name}.safetensors")
        b = load_file(stopped / "checkpoints" / "step-0000004" / f"{name}.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name  # the latent noise drawn again alike

    files = export(straight, tmp_path / "out").files
    assert [p.name for p in files] == ["generator.safetensors", "generator_b.safetensors"]
    translator = LoadedModel.load(tmp_path / "out")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    to_blond = translator.apply(x, translator.label_space.parse_targets("blond"), {})
    to_black = translator.apply(x, translator.label_space.parse_targets("black"), {})
    with torch.no_grad():
        assert torch.equal(to_blond, translator.model.into["b"](x))
        assert torch.equal(to_black, translator.model.into["a"](x))

    from stargan_cli.evaluate.run import evaluate

    report = evaluate(straight, fid=False, batch_size=5)
    assert {s.attribute for s in report.scores} == {"Black_Hair", "Blond_Hair"} and report.picture.is_file()


def reference_file(tmp_path, name: str = "gen_00001000.pt"):
    """A file in the older format the reference's `save` wrote under PyTorch 0.3: {'a': gen_a, 'b': gen_b},
    each VAEGen's `enc.*` and `dec.*`, its instance norms with stored averages (`running_mean`,
    `running_var`; random here, so that normalising with them would show)."""
    torch.manual_seed(3)
    nets = build(UNITConfig(**TINY, shared_layers=0), PETS)

    def vaegen(encoder, decoder):
        state = {f"enc.{k}": v for k, v in encoder.enc.state_dict().items()} | {
            f"dec.{k}": v for k, v in decoder.dec.state_dict().items()
        }
        for part, half in (("enc", encoder.enc), ("dec", decoder.dec)):
            for where, norm in half.named_modules():
                if isinstance(norm, torch.nn.InstanceNorm2d):
                    state[f"{part}.{where}.running_mean"] = torch.empty(norm.num_features).uniform_(-0.5, 0.5)
                    state[f"{part}.{where}.running_var"] = torch.empty(norm.num_features).uniform_(0.5, 2.0)
        return state

    gen_a = vaegen(nets["generator"], nets["generator_b"])  # A's encoder and A's decoder
    gen_b = vaegen(nets["generator_b"], nets["generator"])
    assert (
        sum(k.endswith("running_mean") for k in gen_a) == 1 + 2 + 2 * 2 + 2 * 2
    )  # enc: c7s1, 2 stages, 2 blocks; dec: 2 blocks
    torch.save({"a": gen_a, "b": gen_b}, tmp_path / name)
    return tmp_path / name, nets, gen_a


def stored_average_norm(x, mean, var):
    """What normalising with the file's stored averages (the defect) would compute."""
    return (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + 1e-5)


def test_a_reference_gen_file_of_the_older_format_translates_as_the_reference(tmp_path):
    """The reference's test script drops the stored averages (`pytorch03_to_pytorch04`) and normalises
    each image by its own statistics in eval mode; the import does the same, not the stored averages."""
    import pickle

    from stargan_cli.checkpoint import read_info
    from stargan_cli.imports.unit import import_unit

    path, nets, gen_a = reference_file(tmp_path)
    written = import_unit(path, tmp_path / "model", "summer", "winter", 32)
    assert [p.name for p in written] == ["generator.safetensors", "generator_b.safetensors"]
    assert not any("running" in k for k in load_file(written[0]))
    info = read_info(written[0])
    config = info.config
    sizes = (info.architecture, config.dim, config.n_downsample, config.n_res, config.shared_layers)
    assert sizes == ("unit", 4, 2, 2, 0)
    assert info.label_space.datasets[0].attributes == ("summer", "winter")
    translator = LoadedModel.load(tmp_path / "model")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for target, role in (("winter", "generator"), ("summer", "generator_b")):
            got = translator.apply(x, translator.label_space.parse_targets(target), {})
            assert torch.equal(got, nets[role].eval()(x)), target  # gen_a.enc, then gen_b.dec
        # the first layer by hand: per image, not with the stored averages
        first = nets["generator"].enc.model[0]
        h = first.conv(first.pad(x))
        mean, var = h.mean((2, 3), keepdim=True), h.var((2, 3), unbiased=False, keepdim=True)
        per_image = torch.relu((h - mean) / torch.sqrt(var + 1e-5))
        stored = torch.relu(stored_average_norm(h, gen_a["enc.model.0.norm.running_mean"],
                                                gen_a["enc.model.0.norm.running_var"]))  # fmt: skip
        assert torch.allclose(first(x), per_image, atol=1e-5) and (stored - per_image).abs().max() > 0.1

    # a model file written by an earlier import (instance_stats "running", the stored averages in it) loads
    # and now translates as the reference does
    from safetensors.torch import safe_open, save_file

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for file in written:
        with safe_open(str(file), "pt") as handle:
            meta = handle.metadata()
        config = json.loads(meta["stargan.model_config"]) | {"instance_stats": "running"}
        tensors = load_file(file) | {k.replace(".conv.weight", ".norm.running_mean"): torch.ones(4)
                                     for k in load_file(file) if k == "enc.model.0.conv.weight"}  # fmt: skip
        save_file(tensors, earlier / file.name, meta | {"stargan.model_config": json.dumps(config)})
    old = LoadedModel.load(earlier)
    with torch.no_grad():
        assert torch.equal(old.apply(x, old.label_space.parse_targets("winter"), {}), nets["generator"](x))

    torch.save({"a": {}}, tmp_path / "dis_00001000.pt")
    with pytest.raises(CheckpointError, match="not a UNIT gen_\\*.pt file"):
        import_unit(tmp_path / "dis_00001000.pt", tmp_path / "x", "summer", "winter", 32)
    torch.save({"a": {"x": torch.zeros(1)}, "b": {"x": torch.zeros(1)}}, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError, match="has no enc.model.0.conv.weight"):
        import_unit(tmp_path / "odd.pt", tmp_path / "x", "summer", "winter", 32)

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"a": Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="refused without unpickling"):
        import_unit(tmp_path / "evil.pt", tmp_path / "x", "summer", "winter", 32)
    with pytest.raises(CheckpointError, match="--from and --to"):
        import_unit(path, tmp_path / "x", "summer", "", 32)


def test_the_command_line_imports_a_gen_file_and_onnx_translates_it_as_pytorch(tmp_path):
    from .cli_helpers import assert_one_line_error, invoke

    path, *_ = reference_file(tmp_path)
    code, output = invoke("import-reference", path, "--method", "unit", "--from", "summer", "--to", "winter",
                          "--image-size", 32, "--out", tmp_path / "model")  # fmt: skip
    assert code == 0, output
    assert "--to winter --no-detect" in " ".join(output.split())
    code, output = invoke("import-reference", path, "--method", "unit", "--from", "summer", "--to", "winter",
                          "--reverse", path, "--out", tmp_path / "m2")  # fmt: skip
    assert_one_line_error(code, output, "a unit file holds both generators")
    pytest.importorskip("onnxruntime")
    assert_onnx_exports_translate_as_pytorch(tmp_path / "model", tmp_path / "onnx", ("winter", "summer"), 32)


# ----- two processes equal to one ---------------------------------------------------------------------------
GLOBAL = 4  # global batch of each domain; 2 per process


def step_gradients(networks, rank: int = 0, world: int = 1, backward=None) -> dict[str, torch.Tensor]:
    """D then G gradients of one step on this process's share of a fixed global batch, without the latent
    noise (a half batch would draw other numbers than its half of the whole)."""
    real_a, real_b = process_share(GLOBAL, 32, rank, world)
    batch = UNITBatch(real_a, real_b, None)
    objective = UNITObjective(UNITLoss(latent_adversarial=0.5, semantic=1.0), context(PETS))
    with mock.patch("stargan_cli.objectives.unit._noise", lambda h, g: torch.zeros_like(h)):
        return phase_gradients(objective, networks, batch, backward or (lambda loss: loss.backward()))


def unit_networks():
    torch.manual_seed(0)
    return build(UNITConfig(**TINY), PETS)


def test_two_processes_give_the_gradients_of_one_shared_layers_included(tmp_path):
    from .spawn import gradients_in_two_processes

    results = gradients_in_two_processes(unit_networks, step_gradients, tmp_path)
    expected = step_gradients(unit_networks())
    shared = "enc.model.3.model.1.model.0.conv.weight"
    for got in results:
        assert got.keys() == expected.keys()
        for name, value in expected.items():  # biases before an instance norm get rounding only (1e-7)
            assert (got[name] - value).abs().max() <= 1e-5 * value.abs().max() + 1e-7, name
        torch.testing.assert_close(got[f"generator.{shared}"], got[f"generator_b.{shared}"], rtol=0, atol=0)
    assert expected[f"generator.{shared}"].abs().sum() > 0
    assert expected["latent_discriminator.model.2.weight"].abs().sum() > 0
    assert np.isfinite(sum(v.sum().item() for v in expected.values()))


def test_the_memory_estimate_counts_shared_layers_once():
    from stargan_cli.methods import get_method
    from stargan_cli.train import memory

    recipe, _ = load_recipe("recipes/summer2winter_unit.toml")
    space = LabelSpace((DatasetLabels("summer2winter", ("summer", "winter"), "single"),))
    guess = memory.estimate(get_method("unit"), recipe, space, [0, 0])
    with torch.device("meta"):
        nets = build(recipe.model.params, space)
    paper = 2 * 11_140_483 - 2_360_320 + 2 * 8_271_171 + 1_180_417  # generators, shared blocks once, Ds
    assert guess.state == 16 * unique_count(nets) == 16 * paper
    assert guess.phase == "generator" and guess.activations > 0
