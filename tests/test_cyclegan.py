"""CycleGAN: the reference's sizes and parameter names, its losses against hand-computed numbers, the image
pool, the domains of a labelled dataset, and a tiny run that resumes bit for bit (pool included)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from stargan_cli.config import load_recipe
from stargan_cli.errors import ConfigError, LabelError
from stargan_cli.export import export
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.cyclegan import CycleGANConfig, build
from stargan_cli.models.domains import Domains, TwoDomainTranslator
from stargan_cli.objectives.cyclegan import CycleGANBatch, CycleGANLoss, CycleGANObjective, ImagePool
from stargan_cli.train.loop import train
from stargan_cli.translate import LoadedModel

from .method_helpers import (
    assert_onnx_exports_translate_as_pytorch,
    context,
    process_share,
    two_domain_recipe,
)

PETS = LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),))
FACES = LabelSpace(
    (
        DatasetLabels(
            "faces",
            ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male"),
            "multi",
            (("Black_Hair", "Blond_Hair", "Brown_Hair"),),
        ),
    )
)
TINY = {"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_paper_networks_have_the_reference_sizes():
    nine = build(CycleGANConfig(), PETS)
    assert count(nine["generator"]) == 11_378_179 and count(nine["generator_b"]) == 11_378_179
    assert count(nine["discriminator_a"]) == 2_764_737
    assert count(build(CycleGANConfig(image_size=128, n_blocks=6), PETS)["generator"]) == 7_837_699
    with torch.no_grad():
        assert nine["discriminator_b"](torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
        assert nine["generator"](torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_parameter_names_are_the_reference_state_dict_keys():
    nets = build(CycleGANConfig(), PETS)
    # ResnetGenerator: c7s1 at 1, downsampling at 4 and 7, nine blocks at 10..18 (convs at 1 and 5 of each
    # block), transposed convs at 19 and 22, the last conv at 26; NLayerDiscriminator convs at 0, 2, 5, 8, 11
    g = [
        "model.1",
        "model.4",
        "model.7",
        *(f"model.{i}.conv_block.{j}" for i in range(10, 19) for j in (1, 5)),
    ]
    g += ["model.19", "model.22", "model.26"]
    assert sorted(nets["generator"].state_dict()) == sorted(f"{k}.{w}" for k in g for w in ("weight", "bias"))
    d = [f"model.{i}" for i in (0, 2, 5, 8, 11)]
    assert sorted(nets["discriminator_a"].state_dict()) == sorted(
        f"{k}.{w}" for k in d for w in ("weight", "bias")
    )
    weights = nets["generator"].model[1].weight
    assert abs(weights.std().item() - 0.02) < 0.002 and nets["generator"].model[1].bias.abs().max() == 0


class Scaled(torch.nn.Module):
    def __init__(self, factor: float, channel: int | None = None) -> None:
        super().__init__()
        self.factor, self.channel = factor, channel

    def forward(self, x):
        x = x if self.channel is None else x[:, self.channel : self.channel + 1]
        return x * self.factor


def test_losses_match_numbers_computed_by_hand():
    networks = {
        "generator": Scaled(0.5),  # A -> B
        "generator_b": Scaled(-1.0),  # B -> A
        "discriminator_a": Scaled(1.0, 0),  # judges B: the first channel as its logit map
        "discriminator_b": Scaled(2.0, 1),  # judges A
    }
    objective = CycleGANObjective(CycleGANLoss(), context(PETS))
    no_draws = (np.zeros(2), np.zeros(2, int))
    batch = CycleGANBatch(torch.full((2, 3, 4, 4), 0.2), torch.full((2, 3, 4, 4), -0.4), no_draws, no_draws)
    state = objective.forward(networks, batch, objective.phases(1))
    # fake_B = 0.1, rec_A = -0.1, fake_A = 0.4, rec_B = 0.2
    _, g = objective.loss("generator", networks, batch, state)
    expected = {
        "G/adv_A": (0.1 - 1) ** 2,  # 0.81
        "G/adv_B": (0.8 - 1) ** 2,  # D_B doubles: 0.04
        "G/cycle_A": 10 * abs(-0.1 - 0.2),  # 3.0
        "G/cycle_B": 10 * abs(0.2 + 0.4),  # 6.0
        "G/idt_A": 5 * abs(-0.2 + 0.4),  # |G_A(B) - B| x lambda_B x 0.5 = 1.0
        "G/idt_B": 5 * abs(-0.2 - 0.2),  # |G_B(A) - A| x lambda_A x 0.5 = 2.0
    }
    assert g.keys() == expected.keys()
    for name, value in expected.items():
        assert abs(g[name].item() - value) < 1e-6, name
    loss, d = objective.loss("discriminator", networks, batch, state)
    assert abs(d["D_A/adv"].item() - 0.5 * ((-0.4 - 1) ** 2 + 0.1**2)) < 1e-6  # 0.985
    assert abs(d["D_B/adv"].item() - 0.5 * ((0.4 - 1) ** 2 + 0.8**2)) < 1e-6  # 0.5
    assert abs(loss.item() - 1.485) < 1e-6
    _, without = CycleGANObjective(CycleGANLoss(lambda_identity=0), context(PETS)).loss(
        "generator", networks, batch, state
    )
    assert "G/idt_A" not in without and abs(without["G/cycle_B"].item() - 6.0) < 1e-6


def test_the_image_pool_stores_until_full_then_swaps_on_a_coin_flip():
    pool = ImagePool(2)
    images = [torch.full((1, 1, 1, 1), float(v)) for v in range(5)]
    out = pool.query(torch.cat(images[:2]), np.array([0.9, 0.9]), np.array([1, 1]))
    assert out.flatten().tolist() == [0, 1]  # filling: returned as they are
    # full: the first image swaps with stored image 1 (coin 0.9), the second is returned (coin 0.2)
    out = pool.query(torch.cat(images[2:4]), np.array([0.9, 0.2]), np.array([1, 0]))
    assert out.flatten().tolist() == [1, 3]
    assert [i.item() for i in pool.images] == [0, 2]
    restored = ImagePool(2)
    restored.load(pool.state(), torch.device("cpu"))
    assert [i.item() for i in restored.images] == [0, 2]
    assert ImagePool(0).query(images[4], np.array([0.9]), np.array([0])).item() == 4


def test_domains_are_two_labels_no_image_holds_at_once():
    hair = Domains.resolve(("black", "blond"), FACES)
    assert (hair.a.attribute, hair.b.attribute) == ("Black_Hair", "Blond_Hair")
    labels = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1], [0, 1, 0, 1]], np.float32)
    a, b = hair.rows(labels)
    assert a.tolist() == [0] and b.tolist() == [1, 3]
    assert hair.target_names() == ("Black_Hair", "Blond_Hair")
    sex = Domains.resolve(("Male=0", "Male=1"), FACES)
    assert [r.tolist() for r in sex.rows(labels)] == [[1], [0, 2, 3]] and sex.target_names() == ("Male",)
    assert Domains.resolve((), PETS).describe() == "cat <-> dog" and sex.describe() == "Male=0 <-> Male"
    with pytest.raises(ConfigError, match="can hold the same image"):
        Domains.resolve(("black", "male"), FACES)
    with pytest.raises(ConfigError, match="model.domains is empty.*Black_Hair,Blond_Hair"):
        Domains.resolve((), FACES)
    with pytest.raises(ConfigError, match="unknown attribute 'purple'"):
        Domains.resolve(("black", "purple"), FACES)


def test_the_target_picks_each_rows_generator():
    into_b, into_a = Scaled(0.0), Scaled(0.0)
    into_b.forward = lambda x: torch.ones_like(x)
    into_a.forward = lambda x: -torch.ones_like(x)
    domains = Domains.resolve(("black", "blond"), FACES)
    translator = TwoDomainTranslator({"generator": into_b, "generator_b": into_a}, FACES, domains)
    targets = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.float32)
    out = translator.translate(torch.zeros(3, 3, 2, 2), 0, targets)
    assert out[:, 0, 0, 0].tolist() == [1, -1, 1]
    with pytest.raises(LabelError, match="Black_Hair <-> Blond_Hair; the target is neither"):
        translator.translate(torch.zeros(1, 3, 2, 2), 0, torch.tensor([[0.0, 0, 1, 0]]))
    one_way = TwoDomainTranslator({"generator": into_b}, FACES, domains)
    with pytest.raises(LabelError, match="only the Black_Hair -> Blond_Hair generator"):
        one_way.translate(torch.zeros(1, 3, 2, 2), 0, targets[1:2])
    source = torch.tensor([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]], dtype=torch.float32)
    assert translator.covers(0, source, targets).tolist() == [True, False, False]
    assert translator.covers(0, targets, source).tolist() == [True, False, False]  # blond -> black too
    assert one_way.covers(0, targets, source).tolist() == [False, False, False]  # but not one way
    assert one_way.targets(0) == ("Blond_Hair",) and translator.targets(0) == ("Black_Hair", "Blond_Hair")


def cyclegan_recipe(tmp_path, dataset, steps: int = 4):
    return two_domain_recipe(tmp_path, dataset, "cyclegan", TINY, steps, loss="pool_size = 3",
                             train="g_lr = 2e-4\nd_lr = 2e-4")  # fmt: skip


def test_a_tiny_cyclegan_trains_resumes_bit_for_bit_exports_and_translates(toy_dataset, tmp_path):
    path = cyclegan_recipe(tmp_path, toy_dataset)
    straight = train(load_recipe(path)[0]).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    names = ["D_A/adv", "D_B/adv", "G/adv_A", "G/adv_B", "G/cycle_A", "G/cycle_B", "G/idt_A", "G/idt_B"]
    assert [sorted(k for k in r if "/" in k and k != "images/s") for r in records] == [names] * 4
    checkpoint = straight / "checkpoints" / "step-0000004"
    state = json.loads((checkpoint / "state.json").read_text())
    assert state["networks"] == ["generator", "generator_b", "discriminator_a", "discriminator_b"]
    pools = torch.load(checkpoint / "optimizer.pt", weights_only=True)["objective"]
    assert pools["pool_a"].shape == (3, 3, 16, 16) and pools["pool_b"].shape == (3, 3, 16, 16)

    stopped = train(load_recipe(path)[0], stop_at=2).run_dir  # interrupted after step 2, then resumed
    train(resume=stopped)
    for name in state["networks"]:
        a = load_file(checkpoint / f"{name}.safetensors")
        b = load_file(stopped / "checkpoints" / "step-0000004" / f"{name}.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name
    again = torch.load(stopped / "checkpoints" / "step-0000004" / "optimizer.pt", weights_only=True)
    assert all(torch.equal(pools[k], again["objective"][k]) for k in pools)

    files = export(straight, tmp_path / "out").files
    assert [p.name for p in files] == ["generator.safetensors", "generator_b.safetensors"]
    translator = LoadedModel.load(tmp_path / "out")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    to_blond = translator.apply(x, translator.label_space.parse_targets("blond"), {})
    with torch.no_grad():
        expected = translator.model.into["b"](x)
    assert torch.equal(to_blond, expected)
    with pytest.raises(LabelError, match="Black_Hair <-> Blond_Hair"):
        translator.apply(x, translator.label_space.parse_targets("male"), {})

    # scored as StarGAN is, on the pairs it learnt: black-haired test faces to blond and back
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.evaluate.run import evaluate

    report = evaluate(straight, fid=False, batch_size=5)
    test = PreparedDataset(toy_dataset).split("test").labels
    pairs = {s.attribute: s.pairs for s in report.scores}
    assert pairs == {"Black_Hair": int(test[:, 1].sum()), "Blond_Hair": int(test[:, 0].sum())}
    assert all(s.counterfactual_l1 is not None and 0 <= s.target_accuracy <= 1 for s in report.scores)
    assert report.picture.is_file()


def test_a_bad_domain_setting_is_one_clear_error(toy_dataset, tmp_path):
    path = cyclegan_recipe(tmp_path, toy_dataset)
    with pytest.raises(ConfigError, match="can hold the same image"):
        train(load_recipe(path, ["model.domains=Black_Hair,Male"])[0])
    assert not (tmp_path / "runs").exists()


def write_cyclegan_download(root, counts=(("trainA", 5), ("trainB", 7), ("testA", 2), ("testB", 3))):
    """A dataset in the reference's layout: horse2zebra/{trainA,trainB,testA,testB}/*.jpg, and its zip."""
    import zipfile

    from PIL import Image

    folder = root / "horse2zebra"
    rng = np.random.default_rng(0)
    for sub, n in counts:
        (folder / sub).mkdir(parents=True)
        for i in range(n):
            shade = 40 if sub.endswith("A") else 200  # A dark, B light
            pixels = np.clip(rng.normal(shade, 10, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / sub / f"{sub}_{i}.jpg")
    with zipfile.ZipFile(root / "horse2zebra.zip", "w") as archive:
        for path in sorted(folder.rglob("*.jpg")):
            archive.write(path, path.relative_to(root).as_posix())
    return folder


def test_a_cyclegan_download_prepares_as_two_classes_from_its_folder_or_zip(tmp_path):
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.data.readers.cyclegan import prepare_cyclegan
    from stargan_cli.errors import DatasetError

    folder = write_cyclegan_download(tmp_path)
    from_folder = prepare_cyclegan(str(folder), str(tmp_path / "a"), size=16, workers=1)
    from_zip = prepare_cyclegan(str(tmp_path / "horse2zebra.zip"), str(tmp_path / "b"), size=16, workers=1)
    for ds in (from_folder, from_zip):
        assert ds.name == "horse2zebra" and ds.labels.attributes == ("horse", "zebra")
        assert ds.labels.kind == "single" and ds.split_sizes == {"train": 12, "test": 5}
        train = ds.split("train")
        assert train.labels.sum(0).tolist() == [5, 7]
        dark = train.images[train.labels[:, 0] == 1].mean()
        light = train.images[train.labels[:, 1] == 1].mean()
        assert dark < 60 and light > 180  # each file under its own domain
    assert np.array_equal(from_folder.split("test").images, from_zip.split("test").images)
    named = prepare_cyclegan(str(folder), str(tmp_path / "c"), size=16, domains="dark,light", workers=1)
    assert PreparedDataset(named.root).labels.attributes == ("dark", "light")
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images in trainA/ and trainB/"):
        prepare_cyclegan(str(tmp_path / "empty"), str(tmp_path / "d"), size=16)
    with pytest.raises(DatasetError, match="give two different names"):
        prepare_cyclegan(str(folder), str(tmp_path / "e"), size=16, domains="horse")


def test_a_cyclegan_folder_trains_without_naming_its_domains(tmp_path):
    from stargan_cli.data.readers.cyclegan import prepare_cyclegan

    data = prepare_cyclegan(
        str(write_cyclegan_download(tmp_path)), str(tmp_path / "data"), size=16, workers=1
    )
    path = cyclegan_recipe(tmp_path, data.root, steps=2)
    recipe = load_recipe(path, ["model.domains=[]"])[0]
    run = train(recipe).run_dir
    translator = LoadedModel.load(run)
    assert translator.model.domains.describe() == "horse <-> zebra"
    y = translator.apply(torch.zeros(1, 3, 16, 16), translator.label_space.parse_targets("horse"), {})
    assert y.shape == (1, 3, 16, 16)


def test_released_generators_import_by_name_and_translate_both_ways(tmp_path):
    """Files in the reference's layout: a bare ResnetGenerator state_dict, the older ones with instance-norm
    running statistics (dropped) and a DataParallel `module.` prefix; anything else is refused."""
    import pickle

    from stargan_cli.checkpoint import read_info
    from stargan_cli.errors import CheckpointError
    from stargan_cli.imports.cyclegan import import_cyclegan
    from stargan_cli.models.cyclegan import ResnetGenerator

    torch.manual_seed(0)
    small = CycleGANConfig(image_size=32, ngf=8, n_blocks=2)
    forward, backward = ResnetGenerator(small), ResnetGenerator(small)
    torch.save(forward.state_dict(), tmp_path / "horse2zebra.pth")
    old = {f"module.{k}": v for k, v in backward.state_dict().items()}
    old |= {"module.model.2.running_mean": torch.zeros(8), "module.model.2.running_var": torch.ones(8)}
    old["module.model.10.conv_block.2.num_batches_tracked"] = torch.tensor(7)
    torch.save(old, tmp_path / "zebra2horse.pth")

    written = import_cyclegan(
        tmp_path / "horse2zebra.pth", tmp_path / "model", "horse", "zebra", tmp_path / "zebra2horse.pth", 32
    )
    assert [p.name for p in written] == ["generator.safetensors", "generator_b.safetensors"]
    info = read_info(written[0])
    assert info.architecture == "cyclegan" and (info.config.ngf, info.config.n_blocks) == (8, 2)
    assert info.label_space.datasets[0].attributes == ("horse", "zebra")
    translator = LoadedModel.load(tmp_path / "model")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(translator.apply(x, translator.label_space.parse_targets("zebra"), {}), forward(x))
        assert torch.equal(
            translator.apply(x, translator.label_space.parse_targets("horse"), {}), backward(x)
        )

    one_way = import_cyclegan(tmp_path / "horse2zebra.pth", tmp_path / "one", "horse", "zebra", None, 32)
    assert [p.name for p in one_way] == ["generator.safetensors"]
    with pytest.raises(LabelError, match="only the horse -> zebra generator"):
        LoadedModel.load(tmp_path / "one").apply(x, translator.label_space.parse_targets("horse"), {})

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"model.1.weight": Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="refused without unpickling"):
        import_cyclegan(tmp_path / "evil.pth", tmp_path / "x", "horse", "zebra")
    torch.save({"main.0.weight": torch.zeros(64, 8, 7, 7)}, tmp_path / "stargan-G.ckpt")
    with pytest.raises(CheckpointError, match="not a reference CycleGAN ResnetGenerator"):
        import_cyclegan(tmp_path / "stargan-G.ckpt", tmp_path / "x", "horse", "zebra")
    with pytest.raises(CheckpointError, match="--from and --to"):
        import_cyclegan(tmp_path / "horse2zebra.pth", tmp_path / "x", "horse", "")


def test_the_command_line_imports_then_translates_a_photo(tmp_path):
    from PIL import Image

    from stargan_cli.models.cyclegan import ResnetGenerator

    from .cli_helpers import assert_one_line_error, invoke

    torch.manual_seed(1)
    torch.save(
        ResnetGenerator(CycleGANConfig(image_size=32, ngf=4, n_blocks=1)).state_dict(), tmp_path / "a2o.pth"
    )
    code, output = invoke(
        "import-reference", tmp_path / "a2o.pth", "--method", "cyclegan", "--from", "apple", "--to", "orange",
        "--image-size", 32, "--out", tmp_path / "model",
    )  # fmt: skip
    assert code == 0, output
    flat = " ".join(output.split())  # rich wraps long lines
    assert "next: stargan translate photo.jpg --model" in flat and "--to orange --no-detect" in flat
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(tmp_path / "apple.png")
    code, output = invoke(
        "translate", tmp_path / "apple.png", "--model", tmp_path / "model", "--to", "orange", "--no-detect"
    )
    assert code == 0, output
    assert Image.open(tmp_path / "apple_orange.png").size == (40, 40)
    code, output = invoke(
        "translate", tmp_path / "apple.png", "--model", tmp_path / "model", "--to", "apple", "--no-detect"
    )
    assert_one_line_error(code, output, "only the apple -> orange generator")
    code, output = invoke(
        "import-reference", tmp_path / "a2o.pth", "--method", "cyclegan", "--out", tmp_path / "m2"
    )
    assert_one_line_error(code, output, "--from and --to")
    code, output = invoke(
        "import-reference", tmp_path / "a2o.pth", "--method", "munit", "--out", tmp_path / "m3"
    )
    assert_one_line_error(code, output, "--method 'munit'")


# ----- Accelerate: precisions, and two processes equal to one -----------------------------------------------
GLOBAL = 4  # global batch of each domain; 2 per process


def cycle_networks():
    torch.manual_seed(0)
    return build(CycleGANConfig(**TINY), PETS)


def cycle_gradients(networks, rank: int = 0, world: int = 1, backward=None) -> dict[str, torch.Tensor]:
    """G then D gradients of one step on this process's share of a fixed global batch."""
    real_a, real_b = process_share(GLOBAL, 16, rank, world)
    draws = (np.zeros(GLOBAL // world), np.zeros(GLOBAL // world, int))
    batch = CycleGANBatch(real_a, real_b, draws, draws)
    objective = CycleGANObjective(CycleGANLoss(), context(PETS))
    backward = backward or (lambda loss: loss.backward())
    state = objective.forward(networks, batch, objective.phases(1))
    loss, _ = objective.loss("generator", networks, batch, state)
    backward(loss)
    grads = {
        f"{n}.{k}": p.grad.clone()
        for n in ("generator", "generator_b")
        for k, p in networks[n].named_parameters()
    }
    for net in networks.values():
        net.zero_grad()
    loss, _ = objective.loss("discriminator", networks, batch, state)
    backward(loss)
    d = ("discriminator_a", "discriminator_b")
    return grads | {f"{n}.{k}": p.grad.clone() for n in d for k, p in networks[n].named_parameters()}


def test_two_processes_give_the_gradients_of_one(tmp_path):
    from .spawn import gradients_in_two_processes

    results = gradients_in_two_processes(cycle_networks, cycle_gradients, tmp_path)
    expected = cycle_gradients(cycle_networks())
    for got in results:
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            torch.testing.assert_close(got[name], value, rtol=1e-4, atol=1e-6, msg=name)
    assert all(
        expected[f"{n}.model.0.weight"].abs().sum() > 0 for n in ("discriminator_a", "discriminator_b")
    )


def test_both_directions_export_to_onnx_and_translate_as_in_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    from stargan_cli.imports.cyclegan import import_cyclegan
    from stargan_cli.models.cyclegan import ResnetGenerator

    torch.manual_seed(2)
    for name in ("a2b", "b2a"):
        torch.save(
            ResnetGenerator(CycleGANConfig(image_size=32, ngf=4, n_blocks=1)).state_dict(),
            tmp_path / f"{name}.pth",
        )
    import_cyclegan(tmp_path / "a2b.pth", tmp_path / "model", "day", "night", tmp_path / "b2a.pth", 32)
    assert_onnx_exports_translate_as_pytorch(tmp_path / "model", tmp_path / "onnx", ("night", "day"), 32)


def test_native_translates_whole_images_at_their_own_size(tmp_path):
    from PIL import Image

    from stargan_cli.images import to_tensor, to_uint8
    from stargan_cli.imports.cyclegan import import_cyclegan
    from stargan_cli.models.cyclegan import ResnetGenerator

    from .cli_helpers import assert_one_line_error, invoke

    torch.manual_seed(3)
    generator = ResnetGenerator(CycleGANConfig(image_size=32, ngf=4, n_blocks=1))
    torch.save(generator.state_dict(), tmp_path / "s2w.pth")
    import_cyclegan(tmp_path / "s2w.pth", tmp_path / "model", "summer", "winter", None, 32)
    scene = np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8)  # not a multiple of 4
    Image.fromarray(scene).save(tmp_path / "scene.png")
    code, output = invoke(
        "translate", tmp_path / "scene.png", "--native", "--model", tmp_path / "model", "--to", "winter"
    )
    assert code == 0, output
    written = np.asarray(Image.open(tmp_path / "scene_winter.png"))
    padded = torch.nn.functional.pad(to_tensor(scene[None]), (0, 2, 0, 3), mode="reflect")  # to 40 x 52
    with torch.no_grad():
        expected = to_uint8(generator(padded)[..., :37, :50])[0]
    assert written.shape == (37, 50, 3) and np.array_equal(written, expected)
    code, output = invoke(
        "translate",
        tmp_path / "scene.png",
        "--native",
        "--grid",
        "--model",
        tmp_path / "model",
        "--to",
        "winter",
    )
    assert_one_line_error(code, output, "--native translates whole images")
