"""The real CLI: help texts, the happy path of every subcommand, and one-line errors for bad input."""

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open

from .cli_helpers import assert_one_line_error, invoke


@pytest.mark.parametrize(
    "command", [[], ["prepare"], ["prepare", "toyfaces"], ["train"], ["translate"], ["evaluate"], ["export"]]
)
def test_help(command):
    code, output = invoke(*command, "--help")
    assert code == 0 and "Usage: stargan" in output
    if command and command != ["prepare"]:
        assert "stargan " + command[-1] in output or "Example" in output


def test_translate_files_and_grid(trained_run, face_files, tmp_path):
    out = tmp_path / "out"
    code, output = invoke(
        "translate",
        "--no-detect",
        face_files[0],
        face_files[1],
        "--model",
        trained_run,
        "--to",
        "blond,male=0",
        "--out",
        out,
        "--grid",
    )
    assert code == 0, output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["face0_blond_male-0.png", "face0_grid.png", "face1_blond_male-0.png", "face1_grid.png"]
    assert Image.open(out / "face0_blond_male-0.png").size == (64, 64)  # the input's resolution
    assert Image.open(out / "face0_grid.png").size == (6 * 18 + 2, 20)  # input + 5 targets


def test_translate_a_folder_with_given_source_attributes(trained_run, face_files, tmp_path):
    out = tmp_path / "out"
    code, output = invoke(
        "translate",
        "--no-detect",
        face_files[0].parent,
        "--model",
        trained_run / "generator.safetensors",
        "--to",
        "young",
        "--from",
        "black,male",
        "--out",
        out,
    )
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == ["face0_young.png", "face1_young.png", "face2_young.png"]


def test_translate_label_vectors(trained_run):
    import torch

    from stargan_cli.translate import LoadedModel, parse_source

    translator = LoadedModel.load(trained_run)
    seen = []
    original = translator.model.generator.forward

    def spy(x, c):
        seen.append(c.clone())
        return original(x, c)

    translator.model.generator.forward = spy
    given = parse_source(translator.label_space, "brown,young")
    targets = translator.label_space.parse_targets("blond,male")
    translator.apply(torch.zeros(2, 3, 16, 16), targets, given)
    assert len(seen) == 1 and seen[0].tolist() == [[0, 1, 0, 1, 1]] * 2


def test_translate_bad_inputs(trained_run, face_files, tmp_path):
    code, output = invoke("translate", "--no-detect", face_files[0], "--model", trained_run, "--to", "blnd")
    assert_one_line_error(code, output, "unknown attribute 'blnd'.*Valid names: Black_Hair")
    code, output = invoke("translate", "--no-detect", face_files[0], "--model", trained_run, "--to", "hair")
    assert_one_line_error(code, output, "ambiguous")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    code, output = invoke("translate", "--no-detect", text, "--model", trained_run, "--to", "blond")
    assert_one_line_error(code, output, "notes.png is not a readable image")
    assert text.read_text() == "not an image"
    code, output = invoke(
        "translate", "--no-detect", face_files[0], "--model", tmp_path / "none.safetensors", "--to", "blond"
    )
    assert_one_line_error(code, output, "not found")


def test_model_from_another_architecture_or_label_space(trained_run, face_files, tmp_path, toy_dataset):
    from safetensors.torch import load_file, save_file

    with safe_open(str(trained_run / "generator.safetensors"), "pt") as handle:
        meta = handle.metadata()
    weights = load_file(trained_run / "generator.safetensors")
    other = tmp_path / "other" / "generator.safetensors"
    other.parent.mkdir()
    save_file(weights, other, {**meta, "stargan.architecture": "munit"})
    code, output = invoke("translate", "--no-detect", face_files[0], "--model", other, "--to", "blond")
    assert_one_line_error(code, output, "holds a 'munit' model")
    # weights that do not fit the metadata's sizes
    space = json.loads(meta["stargan.label_space"])
    space["datasets"][0]["attributes"].append("Smiling")
    save_file(weights, other, {**meta, "stargan.label_space": json.dumps(space)})
    code, output = invoke("translate", "--no-detect", face_files[0], "--model", other, "--to", "blond")
    assert_one_line_error(
        code, output, "does not fit the model.*main.0.weight \\(8, 8, 7, 7\\) \\(expected \\(8, 9, 7, 7\\)"
    )
    # evaluating against a dataset outside the model's label space
    rafd = tmp_path / "rafd"
    from stargan_cli.data.readers.toyfaces import prepare_toyfaces

    prepare_toyfaces(str(rafd), "rafd", 16, 8, 4, 0, False)
    code, output = invoke("evaluate", trained_run, "--data", rafd)
    assert_one_line_error(code, output, "trained on toy-celeba; .* holds toy-rafd")


def test_export_is_self_describing(trained_run, tmp_path):
    code, output = invoke("export", trained_run, "--out", tmp_path / "exported")
    assert code == 0, output
    assert "max |diff| 0" in output
    with safe_open(str(tmp_path / "exported" / "generator.safetensors"), "pt") as handle:
        meta = handle.metadata()
    assert meta["stargan.architecture"] == "stargan" and meta["stargan.step"] == "6"
    assert meta["stargan.image_size"] == "16" and meta["stargan.format_version"] == "1"
    assert json.loads(meta["stargan.model_config"])["g_conv_dim"] == 8
    assert json.loads(meta["stargan.label_space"])["datasets"][0]["name"] == "toy-celeba"
    code, output = invoke("export", tmp_path)
    assert_one_line_error(code, output, "no complete checkpoint|not found")


def test_evaluate_writes_a_report(trained_run, tmp_path):
    code, output = invoke("evaluate", trained_run, "--out", tmp_path / "report.json")
    assert code == 0, output
    report = json.loads((tmp_path / "report.json").read_text())
    scores = {s["attribute"]: s for s in report["scores"]}
    assert sorted(scores) == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    # 12 test faces: every face changes for Male and Young; hair targets change the faces of other colours
    assert scores["Male"]["pairs"] == 12 and scores["Young"]["pairs"] == 12
    assert sum(scores[h]["pairs"] for h in ("Black_Hair", "Blond_Hair", "Brown_Hair")) == 24
    for s in scores.values():
        assert 0 <= s["target_accuracy"] <= 1 and 0 <= s["preservation"] <= 1
        assert s["counterfactual_l1"] > 0 and s["identity_l1"] > 0 and s["reconstruction_l1"] > 0
    assert report["step"] == 6 and "manifest_sha256" in report["datasets"]["toy-celeba"]
    assert "Male" in output and "kept" in output and "toy-celeba (step 6)" in output
    # one line a person reads: the translations' distance to the truth against the untouched input
    truth, noop = (
        report["by_pair"]["toy-celeba"]["counterfactual_l1"],
        report["by_pair"]["toy-celeba"]["identity_l1"],
    )
    verdict = "better than" if truth < noop else "worse than"
    line = " ".join(output.split())  # the console wraps long lines
    assert f"toy-celeba: translations are {truth / noop:.2f}x as far from the true counterfactual" in line
    assert f"(L1 {truth:.3f} vs {noop:.3f}), {verdict} leaving it as it is" in line
    assert report["weights"] == "trained"


def test_evaluate_scores_against_hand_counts(toy_dataset):
    """An identity 'generator' never reaches a target and preserves everything; its error against the
    counterfactual equals the do-nothing baseline by definition."""

    import torch

    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.evaluate.classifier import load_or_train
    from stargan_cli.evaluate.metrics import Evaluator, pair_scores, pair_sums
    from stargan_cli.labels import LabelSpace

    ds = PreparedDataset(toy_dataset)
    evaluator, accuracy = load_or_train(ds)

    space, evaluators = LabelSpace((ds.labels,)), {ds.name: Evaluator(evaluator, accuracy)}

    class Identity:  # a translator that returns its input
        label_space = space

        def translate(self, x, dataset, target):
            return x

        def read_source(self, x, dataset):
            return None

        def targets(self, dataset):
            return self.label_space.datasets[dataset].attributes

        def covers(self, dataset, source, target):
            return torch.ones(len(target), dtype=torch.bool)

    scores = pair_scores(pair_sums(Identity(), ds, ds, evaluators), space, ds, ds, evaluators)
    for s in scores:
        assert s.reconstruction_l1 == 0 and s.counterfactual_l1 == pytest.approx(s.identity_l1)
    assert max(s.target_accuracy for s in scores) <= 1 - min(accuracy) + 1e-6


def test_train_cli_dry_run_and_errors(recipe_file, tmp_path):
    code, output = invoke("train", recipe_file, "--set", "train.steps=9", "--dry-run")
    assert code == 0 and json.loads(output)["train"]["steps"] == 9
    code, output = invoke("train", "--recipe", recipe_file, "--set", "train.stepz=9")
    assert_one_line_error(code, output, "unknown setting train.stepz. Did you mean 'steps'")
    code, output = invoke("train", recipe_file, "--set", "train.lambda_cls=2")  # a 0.1.0 recipe's line
    assert_one_line_error(
        code,
        output,
        re.escape("train.lambda_cls is now loss.lambda_cls: move the line to the [loss] section"),
    )
    code, output = invoke("train", recipe_file, "--set", "trian.steps=2")  # brackets are text, not markup
    assert_one_line_error(code, output, re.escape("unknown section 'trian'"))
    code, output = invoke("train", "--resume", tmp_path)
    assert_one_line_error(code, output, "not a run directory")
    shutil.copy(recipe_file, tmp_path / "bad.toml")
    (tmp_path / "bad.toml").write_text(
        recipe_file.read_text().replace("batch_size = 4", 'batch_size = "four"')
    )
    code, output = invoke("train", tmp_path / "bad.toml")
    assert_one_line_error(code, output, "data.batch_size must be int, got str 'four'")


def test_prepare_cli(tmp_path):
    code, output = invoke(
        "prepare", "toyfaces", "--out", tmp_path / "d", "--size", 16, "--train", 8, "--test", 2
    )
    assert code == 0, output
    before = (tmp_path / "d" / "images-train.npy").stat().st_mtime_ns
    code, output = invoke(
        "prepare", "toyfaces", "--out", tmp_path / "d", "--size", 16, "--train", 8, "--test", 2
    )
    assert (
        code == 0 and (tmp_path / "d" / "images-train.npy").stat().st_mtime_ns == before
    )  # same: nothing to do
    code, output = invoke("prepare", "toyfaces", "--out", tmp_path / "d", "--size", 16, "--train", 8)
    assert_one_line_error(code, output, "already holds toy-celeba; pass --overwrite")
    code, output = invoke("prepare", "toyfaces", "--out", tmp_path / "e", "--style", "rafdd")
    assert_one_line_error(code, output, "unknown style 'rafdd'. Did you mean 'rafd'")


def test_translate_without_a_discriminator_needs_source_attributes(trained_run, face_files, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(trained_run / "generator.safetensors", alone / "generator.safetensors")
    code, output = invoke(
        "translate", "--no-detect", face_files[0], "--model", alone / "generator.safetensors", "--to", "blond"
    )
    assert_one_line_error(code, output, "no discriminator.safetensors beside it.*--from")
    code, output = invoke(
        "translate",
        "--no-detect",
        face_files[0],
        "--model",
        alone,
        "--to",
        "blond",
        "--from",
        "brown,male",
        "--out",
        tmp_path / "out",
    )
    assert code == 0 and (tmp_path / "out" / "face0_blond.png").is_file()


def test_prepare_real_formats_from_the_cli(tmp_path):
    from .realdata import make_celeba

    source = make_celeba(tmp_path / "celeba", 8, layout="official")
    code, output = invoke(
        "prepare",
        "celeba",
        "--source",
        source,
        "--out",
        tmp_path / "c",
        "--size",
        16,
        "--test-size",
        2,
        "--attrs",
        "Smiling,Male",
    )
    assert code == 0, output
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["labels"]["attributes"] == [
        "Smiling",
        "Male",
    ]
    code, output = invoke(
        "prepare", "celeba", "--source", source, "--out", tmp_path / "c", "--size", 16, "--test-size", 2
    )
    assert_one_line_error(code, output, "already holds celeba; pass --overwrite")
    code, output = invoke(
        "prepare", "celeba", "--source", source, "--out", tmp_path / "d", "--attrs", "Smilin"
    )
    assert_one_line_error(code, output, "no attribute 'Smilin'. Did you mean Smiling")
    code, output = invoke("prepare", "celeba", "--source", source, "--out", tmp_path / "d", "--split", "clen")
    assert_one_line_error(code, output, "unknown --split 'clen'. Did you mean 'clean'")
    code, output = invoke("prepare", "rafd", "--source", tmp_path / "nowhere", "--out", tmp_path / "r")
    assert_one_line_error(code, output, "is not a folder")
    code, output = invoke("prepare", "folder", "--source", tmp_path / "celeba", "--out", tmp_path / "f")
    assert_one_line_error(code, output, "needs at least two class folders")
    assert not (tmp_path / "d").exists() and not (tmp_path / "f").exists()


def test_native_translates_a_whole_image_with_stargan_reading_its_centre(trained_run, toy_dataset, tmp_path):
    """StarGAN's generator is fully convolutional too: --native keeps the image's size; the discriminator
    reads the source attributes on the centre square at model size."""
    from stargan_cli.data.prepared import PreparedDataset

    face = PreparedDataset(toy_dataset).split("test").images[0]
    wide = np.concatenate([face[:, :6], face, face[:, -6:]], axis=1)  # 16 x 28, centre = the face
    Image.fromarray(wide).save(tmp_path / "wide.png")
    code, output = invoke(
        "translate", tmp_path / "wide.png", "--native", "--model", trained_run, "--to", "blond"
    )
    assert code == 0, output
    written = np.asarray(Image.open(tmp_path / "wide_blond.png"))
    assert written.shape == (16, 28, 3) and not np.array_equal(written, wide)
