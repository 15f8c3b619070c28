"""The made-up method of tests/quad_method.py (three optimisers, four phases, a frozen network, an EMA over
two networks, a reference image and a seed) through train, resume, translate (command line and Python),
export (safetensors, ONNX with an integer input), evaluate, compare and serve. No generic module knows it:
what it declares is all they read."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from stargan_cli import methods
from stargan_cli.config import load_recipe
from stargan_cli.data.readers.toyfaces import STYLES
from stargan_cli.errors import LabelError
from stargan_cli.labels import LabelSpace
from stargan_cli.models.spec import Guide
from stargan_cli.train import loop
from stargan_cli.train.loop import Trainer, train

from .cli_helpers import assert_one_line_error, invoke
from .method_helpers import write_recipe
from .quad_method import PHASES, QUAD, STYLE, QuadConfig
from .test_serve import CHROMIUM, Server, browser_or_skip, downloaded, png_bytes


@pytest.fixture
def quad_method(monkeypatch):
    monkeypatch.setitem(methods.METHODS, "quad", QUAD)


def test_its_released_weights_import_through_the_importer_it_declares(monkeypatch, tmp_path):
    import dataclasses

    import stargan_cli as sg

    monkeypatch.setitem(
        methods.METHODS, "quad", dataclasses.replace(QUAD, importer="tests.quad_method:IMPORTER")
    )
    nets = QUAD.model.build(QuadConfig(), LabelSpace((STYLES["celeba"],)))
    torch.save(
        {role: nets[role].state_dict() for role in ("generator", "mapping", "encoder")}, tmp_path / "q.pt"
    )
    code, output = invoke("import-reference", tmp_path / "q.pt", "--method", "quad", "--out", tmp_path / "m")
    assert code == 0, output
    flat = "".join(output.split())  # the console wraps long lines
    assert flat.endswith(f"next:stargantranslatephoto.jpg--model{tmp_path / 'm'}--toblond--seed0")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        want = nets["generator"](x, nets["encoder"](x[:1]).expand(2, -1))
    assert torch.equal(sg.load(tmp_path / "m")(x, to="blond", reference=x[:1]), want)
    code, output = invoke("import-reference", tmp_path / "q.pt", "--method", "quad", "--out", tmp_path / "n",
                          "--reverse", tmp_path / "q.pt")  # fmt: skip
    assert_one_line_error(
        code, output, "--reverse is not for --method quad: a quad file holds its three networks"
    )
    code, output = invoke("import-reference", tmp_path / "q.pt", "--method", "qaud", "--out", tmp_path / "n")
    assert_one_line_error(
        code, output, "--method 'qaud' has no importer of released weights. Did you mean 'quad'"
    )


def quad_recipe(tmp_path, dataset, steps: int = 4):
    train = {"steps": steps, "decay_start": 2, "g_lr": 1e-3, "d_lr": 4e-3, "weight_decay": 0.0, "ema": 0.9,
             "log_every": 1, "sample_every": 2, "checkpoint_every": 2, "seed": 5}  # fmt: skip
    path = write_recipe(tmp_path / "quad.toml", {
        "data": {"datasets": [str(dataset)], "batch_size": 4, "sample_count": 2},
        "model": {"architecture": "quad", "image_size": 16},
        "train": train,
        "output": {"runs_dir": str(tmp_path / "runs")},
    })  # fmt: skip
    return load_recipe(path)[0]


def test_optimisers_phases_frozen_network_and_ema_as_declared(quad_method, toy_dataset, tmp_path):
    trainer = Trainer(quad_recipe(tmp_path, toy_dataset))
    blur = {k: v.clone() for k, v in trainer.plain["blur"].state_dict().items()}
    mapping_before = [p.detach().clone() for p in trainer.plain["mapping"].parameters()]
    ema_before = {n: [p.clone() for p in net.parameters()] for n, net in trainer.ema.networks.items()}
    trainer.step(1)

    # three optimisers: their own networks, learning rates (a multiplier of g_lr), betas, weight decay
    opts = trainer.optimizers
    assert sorted(opts) == ["critic", "generator", "mapping"]
    assert [g["lr"] for o in ("generator", "mapping", "critic") for g in opts[o].param_groups] == [
        1e-3, pytest.approx(1e-5), 4e-3
    ]  # fmt: skip
    assert opts["critic"].param_groups[0]["betas"] == (0.0, 0.99)
    assert opts["critic"].param_groups[0]["weight_decay"] == 1e-4
    assert opts["generator"].param_groups[0]["weight_decay"] == 0.0
    held = {id(p) for o in opts.values() for g in o.param_groups for p in g["params"]}
    assert len(held) == sum(
        sum(1 for _ in trainer.plain[n].parameters()) for n in ("generator", "encoder", "mapping", "critic")
    )

    # four phases in order; while each runs only what it steps computes weight gradients; the frozen
    # network never does
    seen = trainer.objective.seen
    assert [phase for phase, _ in seen] == list(PHASES)
    stepping = {phase: sorted(n for n, grad in trainable.items() if grad) for phase, trainable in seen}
    assert stepping == {
        "D latent": ["critic"],
        "D ref": ["critic"],
        "G latent": ["encoder", "generator", "mapping"],
        "G ref": ["encoder", "generator"],
    }
    assert all(not p.requires_grad for p in trainer.plain["blur"].parameters())
    assert all(torch.equal(v, blur[k]) for k, v in trainer.plain["blur"].state_dict().items())
    # the mapping network moved once (G latent), by its learning rate (Adam's first step is lr * sign(grad))
    moved = [
        (p.detach() - b).abs().max().item()
        for p, b in zip(trainer.plain["mapping"].parameters(), mapping_before, strict=True)
    ]
    assert max(moved) == pytest.approx(1e-5, rel=0.01)

    # the EMA over the generator and the mapping network, no ramp: one update per batch, at train.ema
    assert sorted(trainer.ema.networks) == ["generator", "mapping"] and trainer.ema.updates == 1
    for name, average in trainer.ema.networks.items():
        for a, before, now in zip(
            average.parameters(), ema_before[name], trainer.plain[name].parameters(), strict=True
        ):
            assert torch.allclose(a, 0.9 * before + 0.1 * now.detach(), atol=1e-7)


def test_a_method_of_four_phases_resumes_bit_for_bit(quad_method, toy_dataset, tmp_path):
    recipe = quad_recipe(tmp_path, toy_dataset)
    straight = train(recipe).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [sorted(k for k in r if "/" in k and k != "images/s") for r in records] == [
        ["D/latent", "D/ref", "G/latent", "G/ref"]
    ] * 4
    checkpoint = straight / "checkpoints" / "step-0000004"
    assert sorted(p.name for p in checkpoint.iterdir()) == sorted(
        ["blur.safetensors", "critic.safetensors", "encoder.safetensors", "generator.safetensors",
         "generator.ema.safetensors", "mapping.safetensors", "mapping.ema.safetensors", "optimizer.pt",
         "state.json"]
    )  # fmt: skip
    assert sorted(torch.load(checkpoint / "optimizer.pt", weights_only=True)) >= [
        "critic",
        "generator",
        "mapping",
    ]
    assert sorted(p.name for p in straight.glob("*.safetensors")) == [
        "encoder.safetensors", "generator.safetensors", "mapping.safetensors"
    ]  # fmt: skip

    stopped = train(recipe, stop_at=2).run_dir
    train(resume=stopped)
    for path in sorted(checkpoint.glob("*.safetensors")):
        a, b = load_file(path), load_file(stopped / "checkpoints" / "step-0000004" / path.name)
        assert all(torch.equal(a[k], b[k]) for k in a), path.name
    resumed = [json.loads(line) for line in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in r.items() if "/" in k and k != "images/s"} for r in resumed] == [
        {k: v for k, v in r.items() if "/" in k and k != "images/s"} for r in records
    ]


def test_a_checkpoint_without_an_optimiser_the_method_declares_is_one_error(
    quad_method, toy_dataset, tmp_path
):
    run = train(quad_recipe(tmp_path, toy_dataset), stop_at=2).run_dir
    path = run / "checkpoints" / "step-0000002" / "optimizer.pt"
    state = torch.load(path, weights_only=True)
    del state["mapping"]
    torch.save(state, path)
    with pytest.raises(loop.CheckpointError, match="holds no state of the optimiser 'mapping'"):
        train(resume=run)


@pytest.fixture
def quad_run(quad_method, toy_dataset, tmp_path):
    return train(quad_recipe(tmp_path, toy_dataset, steps=2)).run_dir


def test_references_seeds_and_samples_from_python(quad_run):
    import stargan_cli as sg

    model = sg.load(quad_run)
    nets = model.translator.model.networks
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    ref = torch.rand(1, 3, 16, 16) * 2 - 1
    space = model.translator.label_space
    domain = space.generator_label(0, space.apply_targets(0, torch.zeros(3, 5), space.parse_targets("blond")))
    with torch.no_grad():
        by_seed = [nets["generator"](x, nets["mapping"](torch.randn(2, STYLE, generator=torch.Generator().manual_seed(7))[k:k + 1].expand(3, -1), domain.argmax(1))) for k in (0, 1)]  # fmt: skip
        by_ref = nets["generator"](x, nets["encoder"](ref).expand(3, -1))
    # the sampled styles: sample k of seed 7 is the k-th draw of a generator seeded with 7, for every row
    out = model(x, to="blond", source="black", samples=2, seed=7)
    assert len(out) == 2 and all(torch.equal(o, e) for o, e in zip(out, by_seed, strict=True))
    assert torch.equal(model(x, to="blond", source="black", seed=7), by_seed[0])
    assert not torch.equal(out[0], out[1])
    assert torch.equal(model(x, to="blond", source="black", reference=ref), by_ref)
    # a photo and a reference photo, cut and pasted as the command line does
    photo = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    two = model(Image.fromarray(photo), to="blond", source="black", framing="crop", samples=2, seed=7)
    assert len(two) == 2 and all(isinstance(o, Image.Image) and o.size == (16, 16) for o in two)
    refd = model(photo, to="blond", source="black", framing="crop", reference=Image.fromarray(photo))
    assert refd.shape == (16, 16, 3) and not np.array_equal(refd, np.asarray(two[0]))
    with pytest.raises(LabelError, match="a reference image gives one style"):
        model(x, to="blond", source="black", reference=ref, samples=2)


def test_references_and_samples_from_the_command_line(quad_run, tmp_path):
    photo = (np.random.default_rng(1).random((16, 16, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "face.png")
    Image.fromarray(photo[::-1].copy()).save(tmp_path / "style.png")
    common = ["translate", str(tmp_path / "face.png"), "--model", str(quad_run), "--to", "blond", "--from",
              "black", "--no-detect", "--out", str(tmp_path / "out")]  # fmt: skip
    code, output = invoke(*common, "--seed", "7", "--samples", "2")
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "face_blond_seed7-0.png",
        "face_blond_seed7-1.png",
    ]
    code, output = invoke(*common, "--ref", str(tmp_path / "style.png"))
    assert code == 0, output
    assert (tmp_path / "out" / "face_blond_ref-style.png").is_file()
    import stargan_cli as sg

    model = sg.load(quad_run)
    for name, kwargs in [("face_blond_seed7-1.png", {"seed": 7, "samples": 2}),
                         ("face_blond_ref-style.png", {"reference": Image.open(tmp_path / "style.png")})]:  # fmt: skip
        want = model(Image.open(tmp_path / "face.png"), to="blond", source="black", framing="crop", **kwargs)
        want = want[-1] if isinstance(want, list) else want
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / name)), np.asarray(want)), name


def test_a_method_without_guides_refuses_a_reference_or_a_seed_in_one_line(trained_run, tmp_path):
    photo = tmp_path / "face.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)
    for extra, what in [
        (["--seed", "3"], "seed"),
        (["--samples", "2"], "seed"),
        (["--ref", str(photo)], "reference image"),
    ]:
        code, output = invoke(
            "translate", photo, "--model", trained_run, "--to", "blond", "--no-detect", *extra
        )
        assert_one_line_error(
            code, output, f"a stargan model takes no {what} \\(it takes named targets only\\)"
        )


def test_export_onnx_with_an_integer_input_evaluate_and_compare(quad_run, trained_run, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime

    import stargan_cli as sg
    from stargan_cli.evaluate.compare import compare
    from stargan_cli.evaluate.run import evaluate
    from stargan_cli.export import export
    from stargan_cli.info import describe

    files = export(quad_run, tmp_path / "st").files
    assert [p.name for p in files] == ["generator.safetensors", "mapping.safetensors", "encoder.safetensors"]
    onnx = export(quad_run, tmp_path / "onnx", fmt="onnx")
    names = ["generator.onnx", "mapping.onnx", "encoder.onnx", "latent.onnx", "reference.onnx"]
    assert [p.name for p in onnx.files] == names
    assert onnx.max_abs_diff < 1e-4
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "mapping.onnx"))
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        ("noise", "tensor(float)"),
        ("domain", "tensor(int64)"),
    ]

    # the ONNX files translate, with a seed or a reference, as the PyTorch model does
    x, ref = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(1, 3, 16, 16) * 2 - 1
    torch_model, onnx_model = sg.load(tmp_path / "st"), sg.load(tmp_path / "onnx" / "generator.onnx")
    for kwargs in ({"seed": 3}, {"reference": ref}):
        a = torch_model(x, to="brown", source="black", **kwargs)
        b = onnx_model(x, to="brown", source="black", **kwargs)
        assert (a - b).abs().max() < 1e-4, kwargs
    # the whole paths in one graph each, as a deployment runs them: integer domain, noise of seed 3 sample 0
    latent = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "latent.onnx"))
    assert [i.type for i in latent.get_inputs()] == ["tensor(float)", "tensor(float)", "tensor(int64)"]
    noise = Guide(seed=3).noise(STYLE).expand(2, -1)
    (got,) = latent.run(None, {"image": x.numpy(), "noise": noise.numpy(), "domain": np.array([2, 2])})
    assert np.abs(got - torch_model(x, to="brown", seed=3).numpy()).max() < 1e-4  # Brown_Hair: domain 2
    assert {k: describe(tmp_path / "onnx" / "latent.onnx")[k] for k in ("network", "weights")} == {
        "network": "latent", "weights": "moving average (train.ema)"
    }  # fmt: skip
    reference = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "reference.onnx"))
    (got,) = reference.run(None, {"image": x.numpy(), "reference": ref.expand(2, -1, -1, -1).numpy()})
    assert np.abs(got - torch_model(x, to="brown", reference=ref).numpy()).max() < 1e-4

    report = evaluate(quad_run, fid=False, batch_size=5)
    assert {s.attribute for s in report.scores} == {"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}
    assert all(s.pairs > 0 and 0 <= s.target_accuracy <= 1 for s in report.scores)
    assert {s.guide for s in report.scores} == {"latent", "reference"}  # the paper's modes, 10 outputs each
    assert all((s.counterfactual_l1 is None) == (s.guide == "latent") for s in report.scores)
    result = compare([trained_run, quad_run], out=tmp_path / "c.json", batch_size=7, fid=False, outputs=3)
    assert [e.name for e in result.entries] == ["stargan", "quad (latent)"]
    quad = result.entries[1]
    for s in quad.scores:  # latent mode, 3 sampled styles for each pair the StarGAN model is scored on
        assert s.guide == "latent" and s.pairs == 3 * result.entries[0].score(s.dataset, s.attribute).pairs
    trained = ("generator", "mapping", "encoder", "critic")  # not the frozen blur
    nets = {n: m for n, m in QUAD.model.build(QuadConfig(), quad.info.label_space).items()}
    assert quad.facts["trained_parameters"] == sum(p.numel() for n in trained for p in nets[n].parameters())
    assert {s.attribute for s in quad.scores} == {s.attribute for s in report.scores}


# ----- serve: the page's style controls ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_quad(toy_dataset, tmp_path_factory):
    """A trained made-up model, and a `stargan serve` process that knows the method from $STARGAN_METHODS."""
    root = tmp_path_factory.mktemp("quad-serve")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(methods.METHODS, "quad", QUAD)
        run = train(quad_recipe(root, toy_dataset, steps=2)).run_dir
    server = Server(run, env={"STARGAN_METHODS": "tests.quad_method:QUAD"})
    yield run, server, root
    server.stop()


def test_the_service_translates_with_a_seed_or_a_reference_as_the_command_line(
    quad_method, quad_run, tmp_path
):
    from stargan_cli.serve.service import ServedModel, Service

    photo, style = (np.random.default_rng(s).integers(0, 256, (40, 30, 3), dtype=np.uint8) for s in (2, 3))
    Image.fromarray(photo).save(tmp_path / "face.png")
    Image.fromarray(style).save(tmp_path / "style.png")
    service = Service([ServedModel.load(quad_run)])
    assert service.catalogue()["models"][0]["guides"] == ["reference", "seed"]
    seeded = service.translate(png_bytes(photo), "face.png", 0, "Brown_Hair", "crop", seed=4)
    token, region = service.add_reference(png_bytes(style), "style.png", 0, "crop")
    assert (region.left, region.top, region.side) == (0, 5, 30)  # the centre square of 30x40
    referenced = service.translate(png_bytes(photo), "face.png", 0, "Brown_Hair", "crop", reference=token)
    for result, flags in ((seeded, ["--seed", "4"]), (referenced, ["--ref", tmp_path / "style.png"])):
        out = tmp_path / f"cli{len(flags[1:][0].__str__())}"
        code, output = invoke("translate", tmp_path / "face.png", "--model", quad_run, "--to", "brown", "--from",
                              "black", "--no-detect", "--out", out, *flags)  # fmt: skip
        assert code == 0, output
        (written,) = out.iterdir()
        served = np.asarray(Image.open(io.BytesIO(result.data)))
        assert np.array_equal(served, np.asarray(Image.open(written))), flags
    with pytest.raises(LabelError, match="no longer on the server"):
        service.translate(png_bytes(photo), "face.png", 0, "Brown_Hair", "crop", reference="gone")


def test_the_page_offers_a_seed_and_a_reference_to_a_model_that_takes_them(
    served_quad, quad_method, tmp_path
):
    run, server, root = served_quad
    sync_playwright = browser_or_skip()
    photo, style = (np.random.default_rng(s).integers(0, 256, (40, 30, 3), dtype=np.uint8) for s in (2, 3))
    Image.fromarray(photo).save(tmp_path / "face.png")
    Image.fromarray(style).save(tmp_path / "style.png")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(accept_downloads=True)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        assert page.inner_text("#model-info").startswith("quad · step 2 (EMA) · 16 px")
        page.check("input[name=framing][value=crop]")
        page.set_input_files("#file", str(tmp_path / "face.png"))
        page.fill("#seed", "4")
        page.select_option("#c0-0", "Brown_Hair")
        page.wait_for_selector("#result[data-to='Brown_Hair']", timeout=60_000)
        assert page.inner_text("#command").endswith("--to Brown_Hair --no-detect --seed 4")
        name, seeded = downloaded(page, tmp_path / "a")
        page.evaluate("() => { document.getElementById('result').dataset.to = ''; }")
        page.set_input_files("#reference", str(tmp_path / "style.png"))
        page.wait_for_function("() => document.getElementById('command').textContent.includes('--ref')")
        page.wait_for_selector("#result[data-to='Brown_Hair']", timeout=60_000)
        ref_name, referenced = downloaded(page, tmp_path / "b")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'page.png'}")
        browser.close()
    assert (name, ref_name) == ("face_Brown_Hair_seed4-0.png", "face_Brown_Hair_ref-style.png")
    for picture, flags in ((seeded, ["--seed", "4"]), (referenced, ["--ref", tmp_path / "style.png"])):
        out = tmp_path / ("cli-" + str(flags[0]).strip("-"))
        code, output = invoke("translate", tmp_path / "face.png", "--model", run, "--to", "Brown_Hair", "--from",
                              "black", "--no-detect", "--out", out, *flags)  # fmt: skip
        assert code == 0, output
        (written,) = out.iterdir()
        assert written.name in (name, ref_name)
        assert np.array_equal(picture, np.asarray(Image.open(written).convert("RGB"))), flags


def test_its_own_sample_grid_in_training_samples_and_translate_grid(quad_run, quad_method, tmp_path):
    """The method's columns (two sampled styles and a reference style per target): 1 + 5 x 3 cells wide."""
    wide = (1 + 5 * 3) * (16 + 2) + 2  # images.grid: 16 px cells with 2 px white gaps
    (sample,) = sorted((quad_run / "samples").glob("*.png"))[-1:]
    assert Image.open(sample).size[0] == wide
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "f.png")
    code, output = invoke("translate", tmp_path / "f.png", "--model", quad_run, "--grid", "--no-detect",
                          "--out", tmp_path / "out")  # fmt: skip
    assert code == 0, output
    assert Image.open(tmp_path / "out" / "f_grid.png").size == (wide, 16 + 4)


# ----- K domains --------------------------------------------------------------------------------------------
def test_k_domains_a_class_balanced_stream_and_paired_references(toy_dataset):
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.errors import ConfigError
    from stargan_cli.models.domains import Domains
    from stargan_cli.objectives.two_domain import balanced_stream
    from stargan_cli.train.stream import BalancedStream

    ds = PreparedDataset(toy_dataset)
    split, space = ds.split("train"), LabelSpace((ds.labels,))
    domains = Domains.resolve(("Black_Hair", "Blond_Hair", "Brown_Hair"), space, count=None)
    assert domains.count == 3 and domains.describe() == "Black_Hair <-> Blond_Hair <-> Brown_Hair"
    with pytest.raises(ConfigError, match="Black_Hair and Male can hold the same image"):
        Domains.resolve(("Black_Hair", "Blond_Hair", "Male"), space, count=None)
    with pytest.raises(ConfigError, match="must name two domains, got 3"):
        Domains.resolve(("Black_Hair", "Blond_Hair", "Brown_Hair"), space)  # the two-domain family's
    index = domains.index(split.labels)
    (source,) = balanced_stream(domains, space, {0: split.labels}, references=2)
    assert [len(r) for r in source.domains] == np.bincount(index[index >= 0]).tolist()
    rare = (source.domains[0][:2], *source.domains[1:])  # 2 black-haired faces against 15 and 17
    stream = BalancedStream(split, 4, 11, 0, False, rare, source.references)
    seen, cpu = np.zeros(3), torch.device("cpu")
    for step in range(150):
        d = stream.draw(step, cpu)
        got = d.domains.numpy()
        assert np.array_equal(domains.index(d.labels.numpy()), got)  # each image is in its domain
        seen += np.bincount(got, minlength=3)
        refs = ((d.references + 1) * 127.5).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()
        for row, target in enumerate(d.target_domains.tolist()):  # both references of the row's target
            pool = split.images[index == target]
            assert all((pool == ref).all(axis=(1, 2, 3)).any() for ref in refs[row]), (step, row)
    again = stream.draw(149, cpu)
    assert torch.equal(again.x_real, d.x_real) and torch.equal(again.references, d.references)
    drawn = seen / seen.sum()
    assert np.abs(drawn - 1 / 3).max() < 0.07, drawn  # balanced, although the data's shares are 2:15:17
