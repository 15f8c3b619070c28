"""U-GAT-IT: the PyTorch reimplementation's sizes and parameter names, AdaLIN and CAM against formulas, the
losses against hand-computed numbers, rho clipping, a tiny run that resumes bit for bit, export (ONNX too),
mixed precision, two processes, and import of a `*_params_*.pt` file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from stargan_cli.config import load_recipe
from stargan_cli.errors import CheckpointError, ImageError
from stargan_cli.export import export
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.ugatit import ILN, AdaLIN, Discriminator, Generator, UGATITConfig, build, mixed_norm
from stargan_cli.objectives.ugatit import UGATITBatch, UGATITLoss, UGATITObjective
from stargan_cli.train.loop import train
from stargan_cli.translate import LoadedModel

from .method_helpers import (
    assert_onnx_exports_translate_as_pytorch,
    context,
    phase_gradients,
    process_share,
    two_domain_recipe,
)

PETS = LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),))
TINY = {"image_size": 32, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_global": 5, "n_layers_local": 3}
TRAIN = TINY | {"image_size": 16, "n_layers_global": 4}  # the toy dataset of the tests is 16 px


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_paper_networks_have_the_reference_sizes_and_names():
    paper = UGATITConfig()
    assert count(Generator(UGATITConfig(variant="full"))) == 278_959_808
    assert count(Generator(paper)) == 10_589_888
    assert count(Discriminator(paper, 7)) == 53_130_176 and count(Discriminator(paper, 5)) == 3_290_560
    with torch.no_grad():
        patch, cam, heatmap = Discriminator(paper, 7)(torch.zeros(1, 3, 256, 256))
        assert patch.shape == (1, 1, 6, 6) and cam.shape == (1, 2) and heatmap.shape == (1, 1, 7, 7)
        assert Discriminator(paper, 5)(torch.zeros(1, 3, 256, 256))[0].shape == (1, 1, 30, 30)
    g = Generator(UGATITConfig(n_blocks=2)).state_dict()
    expected = ["DownBlock.1.weight", "DownBlock.5.weight", "DownBlock.9.weight"]
    expected += [f"DownBlock.{i}.conv_block.{j}.weight" for i in (12, 13) for j in (1, 5)]
    expected += [
        "gap_fc.weight",
        "gmp_fc.weight",
        "conv1x1.weight",
        "conv1x1.bias",
        "FC.0.weight",
        "FC.2.weight",
    ]
    expected += ["gamma.weight", "beta.weight"]
    expected += [
        f"UpBlock1_{i}.{p}"
        for i in (1, 2)
        for p in ("conv1.weight", "norm1.rho", "conv2.weight", "norm2.rho")
    ]
    expected += [f"UpBlock2.{i}.{p}" for i in (3, 8) for p in ("rho", "gamma", "beta")]
    expected += ["UpBlock2.2.weight", "UpBlock2.7.weight", "UpBlock2.11.weight"]
    assert sorted(g) == sorted(expected)
    d = Discriminator(paper, 5).state_dict()  # 3 strided + 1 stride-1 convolutions, each after its padding
    convs = [f"model.{i}" for i in (1, 4, 7, 10)]
    assert sorted(d) == sorted(
        [
            f"{k}.{w}"
            for k in [*convs, "gap_fc", "gmp_fc", "conv"]
            for w in ("weight_orig", "weight_u", "weight_v")
        ]
        + [f"{k}.bias" for k in convs]
        + ["conv1x1.weight", "conv1x1.bias"]
    )
    assert g["UpBlock1_1.norm1.rho"].unique().tolist() == [pytest.approx(0.9)]
    assert g["UpBlock2.3.rho"].abs().max() == 0 and g["UpBlock2.3.gamma"].unique().tolist() == [1.0]


def test_adalin_mixes_instance_and_layer_statistics():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5) * 2 + 1
    for unbiased, n in ((True, 1), (False, 0)):  # torch.var (PyTorch code) or population (TF)
        inst = (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(
            x.var((2, 3), keepdim=True, correction=n) + 1e-5
        )
        layer = (x - x.mean((1, 2, 3), keepdim=True)) / torch.sqrt(
            x.var((1, 2, 3), keepdim=True, correction=n) + 1e-5
        )
        rho = torch.tensor([1.0, 0.0, 0.25])[None, :, None, None]
        torch.testing.assert_close(mixed_norm(x, rho, 1e-5, unbiased), rho * inst + (1 - rho) * layer)
    hand = x[0, 0] - x[0, 0].mean()  # channel 0 of sample 0, instance statistics, H x W = 20 values
    hand = hand / math.sqrt((hand**2).sum().item() / 19 + 1e-5)
    norm = AdaLIN(3)
    with torch.no_grad():
        norm.rho.fill_(1.0)
    gamma, beta = torch.tensor([[2.0, 1, 1], [1, 1, 1]]), torch.tensor([[0.5, 0, 0], [0, 0, 0]])
    torch.testing.assert_close(norm(x, gamma, beta)[0, 0], 2 * hand + 0.5)
    iln = ILN(3)  # rho 0: layer norm, then its own gamma 1 and beta 0
    torch.testing.assert_close(iln(x), mixed_norm(x, torch.zeros(1, 3, 1, 1), 1e-5, True))


def test_the_discriminators_cam_reads_the_raw_or_the_normalized_weights():
    """The PyTorch code scales D's channels by the CAM linear's weight before spectral norm
    (`weight_orig`), TF by the normalised one; both give the same logits."""
    torch.manual_seed(1)
    raw = Discriminator(UGATITConfig(**TINY), 3).eval()
    normalized = Discriminator(UGATITConfig(**TINY, cam_weights="normalized"), 3).eval()
    normalized.load_state_dict(raw.state_dict())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a, b = raw(x), normalized(x)
        scale = raw.gap_fc.weight_orig.norm() / raw.gap_fc.weight.norm()  # the spectral norm of a row vector
    torch.testing.assert_close(a[1], b[1])  # CAM logits: the normalised weight in both
    assert abs(scale.item() - 1) > 0.05 and not torch.allclose(a[0], b[0])


def test_tensorflow_rho_smoothing_and_normal_init_are_settings_of_the_same_layout():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 4, 4)
    smooth = AdaLIN(3, smoothing=True)
    assert smooth.rho.unique().tolist() == [1.0]  # TF starts at 1 and uses clip(rho - 0.1, 0, 1): 0.9
    ones, zeros = torch.ones(2, 3), torch.zeros(2, 3)
    torch.testing.assert_close(smooth(x, ones, zeros), AdaLIN(3)(x, ones, zeros))
    with torch.no_grad():
        smooth.rho.fill_(0.05)  # below 0.1: layer norm only
    torch.testing.assert_close(smooth(x, ones, zeros), mixed_norm(x, torch.zeros(1, 3, 1, 1), 1e-5, True))
    default = build(UGATITConfig(**TINY), PETS)
    normal = build(UGATITConfig(**TINY, init="normal", rho_smoothing=True), PETS)
    for name in default:
        assert default[name].state_dict().keys() == normal[name].state_dict().keys(), name
    first = normal["generator"].DownBlock[1].weight
    assert abs(first.std().item() - 0.02) < 0.003 and default["generator"].DownBlock[1].weight.std() > 0.04
    assert normal["discriminator_ga"].model[1].weight_orig.std().item() == pytest.approx(0.02, abs=0.004)
    assert (
        normal["generator"].conv1x1.bias.abs().max() == 0
        and default["generator"].conv1x1.bias.abs().max() > 0
    )


def test_the_tensorflow_layout_adds_its_biases_affine_norms_and_one_shared_cam_linear():
    paper, tf = UGATITConfig(), UGATITConfig(layout="tensorflow")
    # G: conv biases (encoder 64+128+256 and 8 x 256 in its blocks, decoder 8 x 256 + 128 + 64 + 3), affine
    # encoder norms (2 x (448 + 8 x 256)), MLP biases (4 x 256), one CAM linear with a bias for two without
    extra = 448 + 8 * 256 + 8 * 256 + 128 + 64 + 3 + 2 * (448 + 8 * 256) + 4 * 256 + (257 - 512)
    assert count(Generator(tf)) - count(Generator(paper)) == extra == 10_500
    assert count(Discriminator(tf, 5)) - count(Discriminator(paper, 5)) == 513 - 1024
    generator = Generator(UGATITConfig(**TINY, layout="tensorflow"))
    assert "cam_fc.bias" in generator.state_dict() and "gap_fc.weight" not in generator.state_dict()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out, logits, heatmap = generator(x, extras=True)
    h = generator.DownBlock(x)
    expected = torch.cat([generator.cam_fc(h.mean((2, 3))), generator.cam_fc(h.amax((2, 3)))], 1)
    torch.testing.assert_close(logits, expected)  # one linear reads both poolings
    out.mean().backward()
    assert generator.cam_fc.bias.grad is not None and generator.cam_fc.bias.grad.abs().sum() > 0


class Stub(torch.nn.Module):
    """A generator or discriminator of known outputs: an image scaled by `factor`, CAM logits `cam` x the
    image's mean."""

    def __init__(self, factor: float, cam: float, generator: bool) -> None:
        super().__init__()
        self.factor, self.cam, self.generator = factor, cam, generator

    def forward(self, x, extras=False):
        logits = (self.cam * x.mean((1, 2, 3)))[:, None].expand(-1, 2)
        if self.generator:
            return (x * self.factor, logits, x[:, :1]) if extras else x * self.factor
        return x[:, :1] * self.factor, logits, x[:, :1]


def test_losses_match_numbers_computed_by_hand():
    networks = {
        "generator": Stub(0.5, 10.0, True),  # A -> B
        "generator_b": Stub(-1.0, -5.0, True),  # B -> A
        "discriminator_ga": Stub(1.0, 1.0, False),
        "discriminator_la": Stub(2.0, 0.0, False),
        "discriminator_gb": Stub(1.0, 2.0, False),
        "discriminator_lb": Stub(-1.0, 1.0, False),
    }
    objective = UGATITObjective(UGATITLoss(), context(PETS))
    batch = UGATITBatch(torch.full((2, 3, 4, 4), 0.2), torch.full((2, 3, 4, 4), -0.4))
    assert objective.phases(1) == ("discriminator", "generator")  # D first, as the reference
    state = objective.forward(networks, batch, objective.phases(1))
    # fake_B = 0.1 (CAM 2.0), fake_A = 0.4 (CAM 2.0), rec_A = -0.1, rec_B = 0.2, idt_A = -0.2 (CAM -1.0),
    # idt_B = -0.2 (CAM -4.0)
    _, g = objective.loss("generator", networks, batch, state)

    def bce(logit, target):
        return math.log1p(math.exp(-logit)) if target else math.log1p(math.exp(logit))

    expected = {
        "G/adv_A": (0.4 - 1) ** 2 + (0.4 - 1) ** 2 + (0.8 - 1) ** 2 + (0.0 - 1) ** 2,  # 1.76
        "G/adv_B": (0.1 - 1) ** 2 + (0.2 - 1) ** 2 + (-0.1 - 1) ** 2 + (0.1 - 1) ** 2,  # 3.47
        "G/cycle_A": 10 * abs(-0.1 - 0.2),  # 3.0
        "G/cycle_B": 10 * abs(0.2 + 0.4),  # 6.0
        "G/idt_A": 10 * abs(-0.2 - 0.2),  # 4.0
        "G/idt_B": 10 * abs(-0.2 + 0.4),  # 2.0
        "G/cam_A": 1000 * (bce(2.0, 1) + bce(-1.0, 0)),  # 440.19
        "G/cam_B": 1000 * (bce(2.0, 1) + bce(-4.0, 0)),  # 145.08
    }
    assert g.keys() == expected.keys()
    for name, value in expected.items():
        assert g[name].item() == pytest.approx(value, rel=1e-5), name
    loss, d = objective.loss("discriminator", networks, batch, state)
    d_a = (0.2 - 1) ** 2 + (0.2 - 1) ** 2 + 0.4**2 + 0.4**2 + (0.4 - 1) ** 2 + 1 + 0.8**2 + 0  # 3.6
    d_b = (-0.4 - 1) ** 2 + (-0.8 - 1) ** 2 + 0.1**2 + 0.2**2 + (0.4 - 1) ** 2 + (-0.4 - 1) ** 2 + 0.01 + 0.01
    assert d["D_A/adv"].item() == pytest.approx(d_a, rel=1e-5) and d_a == pytest.approx(3.6)
    assert d["D_B/adv"].item() == pytest.approx(d_b, rel=1e-5) and d_b == pytest.approx(7.59)
    assert loss.item() == pytest.approx(3.6 + 7.59, rel=1e-5)


def test_rho_is_clipped_to_0_1_after_every_generator_update():
    networks = build(UGATITConfig(**TINY), PETS)
    objective = UGATITObjective(UGATITLoss(), context(PETS))
    norms = [
        m for n in ("generator", "generator_b") for m in networks[n].modules() if isinstance(m, AdaLIN | ILN)
    ]
    assert len(norms) == 2 * (2 * TINY["n_blocks"] + 2)
    with torch.no_grad():
        for i, m in enumerate(norms):
            m.rho.fill_(1.5 if i % 2 else -0.3)
    objective.after_update("discriminator", networks)
    assert norms[0].rho.min().item() == pytest.approx(-0.3)  # D's update leaves G alone
    objective.after_update("generator", networks)
    assert all(m.rho.min() >= 0 and m.rho.max() <= 1 for m in norms)
    assert norms[0].rho.max().item() == 0.0 and norms[1].rho.min().item() == 1.0


def ugatit_recipe(tmp_path, dataset, steps: int = 4):
    return two_domain_recipe(tmp_path, dataset, "ugatit", TRAIN, steps, train="weight_decay = 1e-4")


def test_a_tiny_ugatit_trains_resumes_bit_for_bit_exports_and_translates(toy_dataset, tmp_path):
    path = ugatit_recipe(tmp_path, toy_dataset)
    straight = train(load_recipe(path)[0]).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    names = ["D_A/adv", "D_B/adv", "G/adv_A", "G/adv_B", "G/cam_A", "G/cam_B", "G/cycle_A", "G/cycle_B"]
    names += ["G/idt_A", "G/idt_B"]
    assert [sorted(k for k in r if "/" in k and k != "images/s") for r in records] == [names] * 4
    checkpoint = straight / "checkpoints" / "step-0000004"
    state = json.loads((checkpoint / "state.json").read_text())
    assert state["networks"] == list(build(UGATITConfig(**TRAIN), PETS))
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=True)
    groups = [
        g
        for k, v in optimizer.items()
        if isinstance(v, dict) and "param_groups" in v
        for g in v["param_groups"]
    ]
    assert groups and all(g["weight_decay"] == 1e-4 for g in groups)
    weights = load_file(checkpoint / "generator.safetensors")
    rhos = torch.cat([v.flatten() for k, v in weights.items() if k.endswith("rho")])
    assert rhos.min() >= 0 and rhos.max() <= 1 and rhos.max() > 0.5  # AdaLIN's moved from 0.9, still in range

    stopped = train(load_recipe(path)[0], stop_at=2).run_dir  # interrupted after step 2, then resumed
    train(resume=stopped)
    for name in state["networks"]:
        a = load_file(checkpoint / f"{name}.safetensors")
        b = load_file(stopped / "checkpoints" / "step-0000004" / f"{name}.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name  # spectral norms' u and v included

    files = export(straight, tmp_path / "out").files
    assert [p.name for p in files] == ["generator.safetensors", "generator_b.safetensors"]
    translator = LoadedModel.load(tmp_path / "out")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    to_blond = translator.apply(x, translator.label_space.parse_targets("blond"), {})
    to_black = translator.apply(x, translator.label_space.parse_targets("black"), {})
    with torch.no_grad():
        assert torch.equal(to_blond, translator.model.into["b"](x))
        assert torch.equal(to_black, translator.model.into["a"](x))

    from PIL import Image

    from stargan_cli.evaluate.run import evaluate

    samples = np.asarray(Image.open(straight / "samples" / "step-0000004.png"))
    assert samples.shape[1] == 2 + 5 * (16 + 2)  # input, to black, its attention, to blond, its attention
    report = evaluate(straight, fid=False, batch_size=5)
    assert {s.attribute for s in report.scores} == {"Black_Hair", "Blond_Hair"} and report.picture.is_file()


def test_the_full_generator_refuses_another_size_with_one_line():
    generator = Generator(UGATITConfig(**TINY, variant="full"))
    assert generator(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    with pytest.raises(ImageError, match="full U-GAT-IT generator translates 32 px squares only"):
        generator(torch.zeros(1, 3, 64, 64))
    assert Generator(UGATITConfig(**TINY))(torch.zeros(1, 3, 64, 48)).shape == (1, 3, 64, 48)  # light: any


def reference_file(tmp_path, config: UGATITConfig, name: str = "toy_params_0001000.pt"):
    """A file as the PyTorch reimplementation's `save` writes it: one dict of six state_dicts."""
    torch.manual_seed(3)
    nets = build(config, PETS)
    keys = {"generator": "genA2B", "generator_b": "genB2A", "discriminator_ga": "disGA",
            "discriminator_gb": "disGB", "discriminator_la": "disLA", "discriminator_lb": "disLB"}  # fmt: skip
    torch.save({keys[n]: net.state_dict() for n, net in nets.items()}, tmp_path / name)
    return tmp_path / name, nets


def test_a_reference_params_file_imports_light_or_full_and_translates_both_ways(tmp_path):
    import pickle

    from stargan_cli.checkpoint import read_info
    from stargan_cli.imports.ugatit import import_ugatit

    for variant in ("light", "full"):
        config = UGATITConfig(**TINY, variant=variant)
        path, nets = reference_file(tmp_path, config, f"{variant}_params_latest.pt")
        written = import_ugatit(
            path, tmp_path / variant, "selfie", "anime", None if variant == "full" else 32
        )
        assert [p.name for p in written] == ["generator.safetensors", "generator_b.safetensors"]
        info = read_info(written[0])
        assert (info.architecture, info.config.variant, info.config.ngf, info.config.n_blocks) == (
            "ugatit", variant, 4, 1)  # fmt: skip
        assert info.config.image_size == 32 and info.label_space.datasets[0].attributes == ("selfie", "anime")
        translator = LoadedModel.load(tmp_path / variant)
        x = torch.rand(2, 3, 32, 32) * 2 - 1
        with torch.no_grad():
            for target, role in (("anime", "generator"), ("selfie", "generator_b")):
                got = translator.apply(x, translator.label_space.parse_targets(target), {})
                assert torch.equal(got, nets[role](x)), (variant, target)
    # a whole frame of the full model's size translates with --native (the memory estimate probed 64 px)
    from PIL import Image

    from .cli_helpers import assert_one_line_error, invoke

    for side in (32, 40):
        Image.fromarray(np.full((side, side, 3), 90, np.uint8)).save(tmp_path / f"scene{side}.png")
    code, output = invoke("translate", tmp_path / "scene32.png", "--native", "--model", tmp_path / "full",
                          "--to", "anime", "--out", tmp_path / "native")  # fmt: skip
    assert code == 0 and Image.open(tmp_path / "native" / "scene32_anime.png").size == (32, 32), output
    code, output = invoke("translate", tmp_path / "scene40.png", "--native", "--model", tmp_path / "full",
                          "--to", "anime", "--out", tmp_path / "native")  # fmt: skip
    assert_one_line_error(code, output, "translates 32 px squares only.* not 40x40")
    with pytest.raises(CheckpointError, match="full U-GAT-IT at 32 px; --image-size 64"):
        import_ugatit(tmp_path / "full_params_latest.pt", tmp_path / "x", "selfie", "anime", 64)

    torch.save({"genA2B": {}, "genB2A": {}}, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="has no disGA, disGB, disLA, disLB: not a U-GAT-IT"):
        import_ugatit(tmp_path / "partial.pt", tmp_path / "x", "selfie", "anime")

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"genA2B": Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="refused without unpickling"):
        import_ugatit(tmp_path / "evil.pt", tmp_path / "x", "selfie", "anime")
    with pytest.raises(CheckpointError, match="--from and --to"):
        import_ugatit(tmp_path / "full_params_latest.pt", tmp_path / "x", "selfie", "")


def test_the_command_line_imports_a_params_file(tmp_path):
    from .cli_helpers import assert_one_line_error, invoke

    path, _ = reference_file(tmp_path, UGATITConfig(**TINY))
    code, output = invoke("import-reference", path, "--method", "ugatit", "--from", "selfie", "--to", "anime",
                          "--image-size", 32, "--out", tmp_path / "model")  # fmt: skip
    assert code == 0, output
    assert "--to anime --no-detect" in " ".join(output.split())
    code, output = invoke("import-reference", path, "--method", "ugatit", "--from", "selfie", "--to", "anime",
                          "--reverse", path, "--out", tmp_path / "m2")  # fmt: skip
    assert_one_line_error(code, output, "a ugatit file holds all six networks")


def test_both_directions_export_to_onnx_and_translate_as_in_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    from stargan_cli.imports.ugatit import import_ugatit

    path, _ = reference_file(tmp_path, UGATITConfig(**TINY))
    import_ugatit(path, tmp_path / "model", "day", "night", 32)
    assert_onnx_exports_translate_as_pytorch(tmp_path / "model", tmp_path / "onnx", ("night", "day"), 32)


# ----- two processes equal to one ---------------------------------------------------------------------------
GLOBAL = 4  # global batch of each domain; 2 per process


def step_gradients(networks, rank: int = 0, world: int = 1, backward=None) -> dict[str, torch.Tensor]:
    """D then G gradients of one step on this process's share of a fixed global batch."""
    real_a, real_b = process_share(GLOBAL, 32, rank, world)
    batch = UGATITBatch(real_a, real_b)
    objective = UGATITObjective(UGATITLoss(), context(PETS))
    return phase_gradients(objective, networks, batch, backward or (lambda loss: loss.backward()))


def ugatit_networks():
    torch.manual_seed(0)
    return build(UGATITConfig(**TINY), PETS)


def test_two_processes_give_the_gradients_of_one(tmp_path):
    from .spawn import gradients_in_two_processes

    results = gradients_in_two_processes(ugatit_networks, step_gradients, tmp_path)
    expected = step_gradients(ugatit_networks())
    for got in results:
        assert got.keys() == expected.keys()
        for name, value in expected.items():  # CAM x1000 makes gradients of 1e3 beside ones of 1e-3: the
            # summation order of two half batches moves each by up to 2e-6 of its tensor's largest
            assert (got[name] - value).abs().max() <= 1e-5 * value.abs().max(), name
    assert expected["discriminator_ga.model.1.weight_orig"].abs().sum() > 0
    assert expected["generator.gamma.weight"].abs().sum() > 0
    assert np.isfinite(sum(v.sum().item() for v in expected.values()))


# ----- memory, attention maps -------------------------------------------------------------------------------
def test_the_memory_estimate_says_what_a_run_needs_and_stops_one_a_gpu_cannot_hold(monkeypatch):
    from types import SimpleNamespace

    from stargan_cli.errors import ConfigError
    from stargan_cli.methods import get_method
    from stargan_cli.models.ugatit import MODEL
    from stargan_cli.train import memory

    space = LabelSpace((DatasetLabels("selfie2anime", ("selfie", "anime"), "single"),))
    method = get_method("ugatit")

    def guess(*settings):
        return memory.estimate(
            method, load_recipe("recipes/selfie2anime.toml", list(settings))[0], space, [0, 0]
        )

    light, full = guess(), guess("model.variant=full")
    discriminators = 2 * (53_130_176 + 3_290_560)
    assert light.state == 16 * (2 * 10_589_888 + discriminators)  # fp32 weights, gradients, 2 Adam moments
    assert full.state == 16 * (2 * 278_959_808 + discriminators)
    assert light.phase == "generator" and full.activations == pytest.approx(light.activations, rel=0.01)
    assert guess("data.batch_size=2").activations == pytest.approx(
        2 * light.activations, rel=0.05
    )  # + weights
    assert guess("train.precision=bf16").activations == pytest.approx(light.activations / 2, rel=0.01)
    assert 15 * memory.GIB < full.total < 18 * memory.GIB and 7 * memory.GIB < light.total < 9 * memory.GIB

    card = SimpleNamespace(total_memory=12 * memory.GIB)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: card)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "a 12 GB card")
    cuda = torch.device("cuda")
    with pytest.raises(ConfigError, match=r'a 12 GB card has 12.0 GiB: set model.variant = "light" \(10.6 M'):
        memory.check(full, cuda, MODEL.memory_hint(full_config := UGATITConfig(variant="full")))
    assert (
        full_config.variant == "full" and memory.check(light, cuda, MODEL.memory_hint(UGATITConfig())) is None
    )
    import psutil

    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=2 * memory.GIB))
    warning = memory.check(full, torch.device("cpu"), "")
    assert warning.startswith("this run needs about") and "2.0 GiB are available" in warning


def test_heatmaps_are_laid_over_the_image_cold_to_hot():
    from stargan_cli.images import heatmap_overlay

    heat = torch.tensor([[[[5.0, 1.0], [1.0, 1.0]]]])  # hottest top left, the rest coldest
    out = heatmap_overlay(torch.zeros(1, 3, 2, 2), heat)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.0, -0.5, -0.5]))  # dark red, half mixed in
    torch.testing.assert_close(out[0, :, 1, 1], torch.tensor([-0.5, -0.5, 0.0]))  # dark blue


def test_translate_writes_attention_maps_and_says_when_a_model_has_none(tmp_path, trained_run, face_files):
    from PIL import Image

    from stargan_cli.imports.ugatit import import_ugatit

    from .cli_helpers import assert_one_line_error, invoke

    path, _ = reference_file(tmp_path, UGATITConfig(**TINY))
    import_ugatit(path, tmp_path / "model", "black", "blond", 32)
    code, output = invoke("translate", face_files[0], "--model", tmp_path / "model", "--to", "blond",
                          "--no-detect", "--attention", "--out", tmp_path / "out")  # fmt: skip
    assert code == 0, output
    overlay = np.asarray(Image.open(tmp_path / "out" / "face0_blond_attention.png"))
    face = np.asarray(Image.open(face_files[0]))
    assert overlay.shape == face.shape == (64, 64, 3)  # the face at its size in the photo, not the model's 32
    assert (tmp_path / "out" / "face0_blond.png").is_file()
    assert overlay.std() > 5 and np.abs(overlay.astype(int) - face).mean() > 10  # the map is there
    code, output = invoke("translate", face_files[0], "--model", trained_run, "--to", "blond", "--no-detect",
                          "--attention", "--out", tmp_path / "none")  # fmt: skip
    assert_one_line_error(code, output, "--attention: this model has no attention maps")
    assert not (tmp_path / "none").exists()


def test_the_memory_estimate_leaves_the_runs_random_numbers_alone():
    """The estimate runs a method's own objective, whose draws (StarGAN's classifier noise) come from the
    host generator: its state is put back, so a run with the estimate trains as one without (the demo's
    figures moved when it was not)."""
    from stargan_cli.methods import get_method
    from stargan_cli.train import memory

    recipe, _ = load_recipe("recipes/toyfaces.toml")
    space = LabelSpace((DatasetLabels("toy-celeba", ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"),
                                      "multi", (("Black_Hair", "Blond_Hair", "Brown_Hair"),)),))  # fmt: skip
    assert recipe.loss.cls_noise > 0  # the setting that draws
    torch.manual_seed(1234)
    before = torch.get_rng_state().clone()
    assert memory.estimate(get_method("stargan"), recipe, space, [0]) is not None
    assert torch.equal(torch.get_rng_state(), before)
    with torch.random.fork_rng(devices=[]):
        memory._estimate(get_method("stargan"), recipe, space, [0])
        assert not torch.equal(torch.get_rng_state(), before)  # without the guard it would have moved
