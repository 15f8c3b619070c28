"""Bad inputs, table-driven: each gives exit code 1 (2 for a missing input) and one line naming what is
wrong, and no file that was there before changes (issue 26)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from .cli_helpers import assert_one_line_error, invoke
from .test_cyclegan import TINY as CYCLEGAN_TINY
from .test_ugatit import TINY as UGATIT_TINY
from .test_unit import TINY as UNIT_TINY


def snapshot(folder) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


RECIPE_VALUES = [  # class 4: recipe values checked when the recipe loads, naming the setting
    ("train.g_lr=nan", "train.g_lr must be a finite number, got nan"),
    ("train.d_lr=inf", "train.d_lr must be a finite number, got inf"),
    ("loss.lambda_rec=inf", "loss.lambda_rec must be a finite number, got inf"),
    ("loss.lambda_cls=-1", "loss.lambda_cls must be 0 or more"),
    ("train.beta1=1.5", r"train.beta1 must be in \[0, 1\)"),
    ("train.beta2=-0.1", r"train.beta2 must be in \[0, 1\)"),
    ("train.ema=nan", "train.ema must be a finite number"),
    ("model.g_conv_dim=1000000", r"would have \d+\.\d billion parameters .* model.g_conv_dim = 1000000"),
]


@pytest.mark.parametrize(("setting", "message"), RECIPE_VALUES, ids=[s for s, _ in RECIPE_VALUES])
def test_recipe_values(recipe_file, tmp_path, setting, message):
    before = snapshot(tmp_path)
    code, output = invoke("train", recipe_file, "--set", setting)
    assert_one_line_error(code, output, message)
    assert snapshot(tmp_path) == before and not (tmp_path / "runs").exists()


def test_a_diverging_run_stops_and_keeps_its_good_checkpoints(recipe_file, tmp_path):
    """Learning rates of 1e30 turn the weights to NaN within steps: the run stops with one line, and no
    checkpoint or generator of NaN weights is written."""
    code, output = invoke("train", recipe_file, "--set", "train.g_lr=1e30", "--set", "train.d_lr=1e30",
                          "--set", "train.checkpoint_every=2", "--set", "train.log_every=1")  # fmt: skip
    assert_one_line_error(
        code, output, r"training diverged at step \d+: .*(nan|inf).*checkpoints .* are intact"
    )
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name[:1].isdigit())
    from safetensors.torch import load_file

    for file in run.rglob("*.safetensors"):
        assert all(np.isfinite(t.numpy()).all() for t in load_file(file).values()), file


def test_devices_that_do_not_exist_here(trained_run, face_files):
    """Class 3: one line listing what exists on this machine."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for args in (("translate", face_files[0], "--no-detect", "--to", "blond", "--device", "cuda"),
                 ("translate", face_files[0], "--no-detect", "--to", "blond", "--device", "tpu"),
                 ("evaluate", trained_run, "--device", "tpu")):  # fmt: skip
        code, output = (
            invoke(*args[:1], *args[1:], "--model", trained_run) if args[0] == "translate" else invoke(*args)
        )
        assert_one_line_error(
            code, output, f"--device {args[-1]}: this machine has no CUDA GPU; use one of cpu"
        )


TARGETS = [  # class 5: contradictory targets refused before anything runs
    ("blond,blond=0", "sets Blond_Hair twice"),
    ("blond,black", "asks for Black_Hair and Blond_Hair at once"),
]


@pytest.mark.parametrize(("to", "message"), TARGETS, ids=[t for t, _ in TARGETS])
def test_contradictory_targets(trained_run, face_files, tmp_path, to, message):
    before = snapshot(tmp_path)
    code, output = invoke("translate", face_files[0], "--no-detect", "--model", trained_run, "--to", to)
    assert_one_line_error(code, output, message)
    assert snapshot(tmp_path) == before


def test_evaluate_limit_must_be_positive(trained_run):
    code, output = invoke("evaluate", trained_run, "--limit", 0)
    assert_one_line_error(code, output, "--limit must be at least 1")


def test_two_inputs_writing_one_file_are_refused_before_anything_is_written(trained_run, tmp_path):
    face = np.full((32, 32, 3), 128, np.uint8)
    Image.fromarray(face).save(tmp_path / "a.bmp")
    Image.fromarray(face).save(tmp_path / "a.tiff")
    before = snapshot(tmp_path)
    code, output = invoke(
        "translate", tmp_path, "--no-detect", "--model", trained_run, "--to", "blond", "--format", "png"
    )
    assert_one_line_error(
        code, output, r"a\.(bmp|tiff) and .*a\.(bmp|tiff) would both be written to .*a_blond\.png"
    )
    assert snapshot(tmp_path) == before


def test_an_output_that_is_an_input_skips_only_that_file(trained_run, tmp_path):
    face = np.full((32, 32, 3), 128, np.uint8)
    Image.fromarray(face).save(tmp_path / "b.png")
    Image.fromarray(face).save(tmp_path / "b_blond.png")  # b's output name, and an input itself
    before = snapshot(tmp_path)
    code, output = invoke("translate", tmp_path, "--no-detect", "--model", trained_run, "--to", "blond")
    assert code == 1 and "1 of 2 inputs skipped" in " ".join(output.split()), output
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before  # both inputs unchanged
    assert (tmp_path / "b_blond_blond.png").is_file()  # the other input was translated


# ----- class 6: interruptions ------------------------------------------------------------------------------
def tiny_run(recipe_file, *settings):
    from stargan_cli.config import load_recipe
    from stargan_cli.train.loop import train

    recipe, _ = load_recipe(
        recipe_file, ["train.checkpoint_every=2", "train.steps=4", "train.decay_start=2", *settings]
    )
    return train(recipe).run_dir


def test_killed_while_the_first_checkpoint_was_temporary_restarts_from_zero(recipe_file):
    import shutil

    from stargan_cli.train.loop import train

    run = tiny_run(recipe_file)
    for step in ("step-0000004", "step-0000002"):
        shutil.rmtree(run / "checkpoints" / step)
    shutil.copytree(run / "samples", run / "checkpoints" / "step-0000002.tmp")  # a half-written first one
    assert train(resume=run).step == 4 and (run / "checkpoints" / "step-0000004" / "state.json").is_file()


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(recipe_file):
    from stargan_cli.train.loop import train

    run = tiny_run(recipe_file, "train.steps=6", "train.decay_start=3")
    (run / "checkpoints" / "step-0000006" / "state.json").write_text("{ not json")
    result = train(resume=run)
    assert result.step == 6 and "step" in (run / "checkpoints" / "step-0000006" / "state.json").read_text()


def test_killed_after_the_last_checkpoint_rewrites_the_stale_inference_files(recipe_file):
    import shutil

    from stargan_cli.checkpoint import read_info
    from stargan_cli.train.loop import train

    run = tiny_run(recipe_file)
    shutil.copy(run / "checkpoints" / "step-0000002" / "generator.safetensors", run / "generator.safetensors")
    assert read_info(run / "generator.safetensors").step == 2  # as if killed before the final export
    train(resume=run)
    assert read_info(run / "generator.safetensors").step == 4


def test_a_failed_start_leaves_no_run_folder(recipe_file, tmp_path):
    code, output = invoke("train", recipe_file, "--set", "data.batch_size=1000")
    assert_one_line_error(code, output, "fewer than one batch of 1000")
    assert not (tmp_path / "runs").exists()


# ----- class 7: concurrency, class 1: destinations -----------------------------------------------------------
def test_run_numbers_are_unique_across_recipes_started_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from stargan_cli.train.rundir import new_run_dir

    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda i: new_run_dir(tmp_path, "ab"[i % 2]), range(16)))
    assert sorted(int(p.name[:4]) for p in runs) == list(range(1, 17))


def test_writers_of_one_file_never_share_a_temporary_name(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from stargan_cli.images import save_image

    pictures = [np.full((64, 64, 3), i, np.uint8) for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda a: save_image(a, tmp_path / "same.png"), pictures))
    assert [p.name for p in tmp_path.iterdir()] == ["same.png"]  # whole, and no temporary file left


def test_an_unwritable_destination_is_one_line_and_leaves_no_temporary_file(
    trained_run, face_files, tmp_path
):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, output = invoke("translate", face_files[0], "--no-detect", "--model", trained_run, "--to", "blond",
                          "--out", blocker)  # fmt: skip
    assert_one_line_error(code, output, "cannot write .*a_file.*choose another destination")
    assert blocker.read_text() == "not a folder" and not list(tmp_path.rglob("*.tmp"))


# ----- class 2: damaged or foreign files ---------------------------------------------------------------------
def test_random_bytes_as_weights_are_one_line(trained_run, tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    code, output = invoke("import-reference", junk, "--image-size", 128, "--out", tmp_path / "o")
    assert_one_line_error(code, output, "is not a readable PyTorch checkpoint")
    code, output = invoke(
        "import-reference", junk, "--method", "cyclegan", "--from", "a", "--to", "b", "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, "is not a readable PyTorch checkpoint")
    pytest.importorskip("torch_fidelity")
    code, output = invoke("evaluate", trained_run, "--fid-weights", junk, "--out", tmp_path / "r.json")
    assert_one_line_error(code, output, "is not a weights-only tensor file")


def test_a_model_file_with_metadata_of_the_wrong_shape(trained_run, tmp_path):
    from safetensors.torch import load_file, safe_open, save_file

    source = trained_run / "generator.safetensors"
    with safe_open(str(source), "pt") as handle:
        meta = handle.metadata()
    save_file(
        load_file(source), tmp_path / "generator.safetensors", {**meta, "stargan.model_config": "[1, 2]"}
    )
    code, output = invoke("translate", tmp_path / "x.png", "--model", tmp_path, "--to", "blond")
    assert_one_line_error(code, output, "has damaged stargan metadata")


def test_non_finite_weights_are_refused_instead_of_translating_to_black(trained_run, face_files, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file, safe_open, save_file

    model = tmp_path / "model"
    shutil.copytree(trained_run, model, ignore=shutil.ignore_patterns("checkpoints", "samples"))
    with safe_open(str(model / "generator.safetensors"), "pt") as handle:
        meta = handle.metadata()
    weights = load_file(model / "generator.safetensors")
    first = next(k for k, v in weights.items() if v.is_floating_point())
    weights[first] = torch.full_like(weights[first], float("nan"))
    save_file(weights, model / "generator.safetensors", meta)
    code, output = invoke(
        "translate", face_files[0], "--no-detect", "--model", model, "--to", "blond", "--out", tmp_path / "o"
    )
    assert_one_line_error(code, output, f"holds non-finite weights .NaN or infinity. in {first}")
    assert not (tmp_path / "o").exists()


def test_names_in_square_brackets_are_printed_as_they_are(trained_run, tmp_path):
    """Class 9: the console library reads [word] as markup; paths and names never go through it."""
    folder = tmp_path / "[data] photos"
    folder.mkdir()
    Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(folder / "me[bold].png")
    code, output = invoke("translate", folder, "--no-detect", "--model", trained_run, "--to", "blond")
    assert code == 0, output
    assert "[data] photos/me[bold]_blond.png" in " ".join(output.split())  # (rich wraps long lines)


def test_destinations_in_the_way_are_one_line(trained_run, recipe_file, tmp_path):
    """Class 1: export, train and prepare into a place where a file stands in the way."""
    blocker = tmp_path / "blocker"
    blocker.write_text("mine")
    code, output = invoke("export", trained_run, "--out", blocker / "sub")
    assert_one_line_error(code, output, "cannot write .*blocker/sub")
    code, output = invoke("train", recipe_file, "--set", f'output.runs_dir="{blocker}/runs"')
    assert_one_line_error(code, output, "cannot write .*blocker/runs")
    code, output = invoke(
        "prepare", "toyfaces", "--out", blocker / "toy", "--size", 16, "--train", 4, "--test", 1
    )
    assert_one_line_error(code, output, "cannot write .*blocker/toy")
    assert blocker.read_text() == "mine"


def test_prepare_checks_free_space_before_preallocating(tmp_path, monkeypatch):
    import shutil as shell

    from stargan_cli.data import prepare

    usage = shell.disk_usage(tmp_path)
    monkeypatch.setattr(prepare.shutil, "disk_usage", lambda _: usage._replace(free=10_000))
    code, output = invoke(
        "prepare", "toyfaces", "--out", tmp_path / "toy", "--size", 16, "--train", 40, "--test", 4
    )
    assert_one_line_error(code, output, r"needs about 0\.00 GiB and its disk has 0\.00 GiB free")
    assert not (tmp_path / "toy").exists()


def test_a_second_prepare_of_one_destination_is_refused_while_the_first_runs(tmp_path):
    from stargan_cli.errors import StarganError
    from stargan_cli.files import locked

    with locked(tmp_path / ".toy.lock"):  # as a first prepare holds it
        code, output = invoke(
            "prepare", "toyfaces", "--out", tmp_path / "toy", "--size", 16, "--train", 4, "--test", 1
        )
    assert_one_line_error(code, output, "another stargan prepare is writing .*toy; wait for it")
    with locked(tmp_path / ".x.lock"), pytest.raises(StarganError, match="busy"):
        with locked(tmp_path / ".x.lock", wait=False, busy="busy"):
            pass


def test_two_translates_into_one_folder_at_once(trained_run, tmp_path):
    """Class 7: two processes writing the same outputs into one --out both finish, and every file is whole."""
    import subprocess
    import sys

    faces = tmp_path / "faces"
    faces.mkdir()
    for i in range(12):
        Image.fromarray(np.full((32, 32, 3), 10 * i, np.uint8)).save(faces / f"{i}.png")
    command = [sys.executable, "-m", "stargan_cli", "translate", str(faces), "--no-detect", "--model",
               str(trained_run), "--to", "blond", "--out", str(tmp_path / "out")]  # fmt: skip
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [r.communicate(timeout=300)[0].decode() for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == sorted(f"{i}_blond.png" for i in range(12))
    assert all(Image.open(p).size == (32, 32) for p in written)


@pytest.mark.parametrize(
    ("point", "what"),
    [
        ("checkpoint-2-written", "the first checkpoint still a temporary folder"),
        ("checkpoint-4-saved", "the last checkpoint saved, its generator.safetensors not yet"),
    ],  # fmt: skip
    ids=["first-checkpoint-temporary", "after-the-last-checkpoint"],
)
def test_a_hard_kill_in_either_window_resumes_to_the_uninterrupted_result(recipe_file, tmp_path, point, what):
    """Class 6: `stargan train` dies at once (exit 137, no clean-up, as kill -9) at `point`; `--resume`
    then ends with the weights and inference files of a run that was never killed."""
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    from stargan_cli.checkpoint import read_info

    settings = ["--set", "train.steps=4", "--set", "train.decay_start=2", "--set", "train.checkpoint_every=2"]
    base = [sys.executable, "-m", "stargan_cli", "train"]
    env = {**os.environ, "STARGAN_FAILPOINT": point}
    killed = subprocess.run([*base, str(recipe_file), *settings], env=env, capture_output=True, timeout=300)
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name[:1].isdigit())
    resumed = subprocess.run([*base, "--resume", str(run)], capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    straight = subprocess.run([*base, str(recipe_file), *settings], capture_output=True, timeout=300)
    assert straight.returncode == 0
    other = max(p for p in (tmp_path / "runs").iterdir() if p.name[:1].isdigit())
    assert read_info(run / "generator.safetensors").step == 4, what
    for name in ("generator.safetensors", "checkpoints/step-0000004/discriminator.safetensors"):
        a, b = load_file(run / name), load_file(other / name)
        assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a), name


def test_translate_resizes_faces_with_the_filter_of_the_training_images(trained_run, tmp_path):
    """Class 8: the toy data were resized with a box filter; translate cuts faces the same way (it used
    LANCZOS for every model), and the filter travels in the model file's metadata."""
    from stargan_cli.checkpoint import read_info
    from stargan_cli.faces import Region, cut
    from stargan_cli.translate import LoadedModel

    assert read_info(trained_run / "generator.safetensors").resize == "box"
    translator = LoadedModel.load(trained_run)
    assert translator.resample == "box"
    photo = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(photo).resize((16, 16), Image.Resampling.BOX))
    assert np.array_equal(cut(photo, Region(0, 0, 64), 16, translator.resample), expected)


def test_a_large_photo_is_translated_in_bounded_memory(trained_run, tmp_path):
    """Class 10: the full-resolution change is pasted a band of rows at a time and the photo is changed in
    place, so numpy's peak is a small multiple of the photo itself (it was 13x: four float32 copies)."""
    import tracemalloc

    from stargan_cli.translate import run

    photo = np.full((2400, 2400, 3), 120, np.uint8)
    photo[::7] = 30  # stripes, so the change is not flat
    Image.fromarray(photo).save(tmp_path / "large.png")
    tracemalloc.start()
    try:
        result = run(
            [str(tmp_path / "large.png")], str(trained_run), "blond", out=str(tmp_path), detect=False
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.written == [tmp_path / "large_blond.png"]
    assert Image.open(result.written[0]).size == (2400, 2400)
    assert peak < 4 * photo.nbytes, f"{peak / 1e6:.0f} MB for a {photo.nbytes / 1e6:.0f} MB photo"


def test_max_side_decodes_a_jpeg_at_reduced_size_and_lets_it_past_the_guard(tmp_path):
    """Class 10: --max-side scales inputs down; a JPEG is decoded at 1/2, 1/4 or 1/8 size directly (DCT
    scaling), which also brings a JPEG above the pixel guard under it; other formats are refused as before."""
    from stargan_cli.errors import ImageError
    from stargan_cli.photos import read_photo

    gradient = np.linspace(0, 255, 2000, dtype=np.float32)
    image = np.stack([np.broadcast_to(gradient, (1500, 2000))] * 3, axis=-1).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "big.jpg", quality=95)
    Image.fromarray(image).save(tmp_path / "big.png")
    small = read_photo(tmp_path / "big.jpg", max_pixels=1_000_000, max_side=500)  # 3 MP > the 1 MP guard
    assert small.shape == (375, 500, 3)
    assert abs(int(small[187, 250, 0]) - 128) <= 3 and small[187, 5, 0] < 10 and small[187, -5, 0] > 245
    assert read_photo(tmp_path / "big.png", max_side=500).shape == (375, 500, 3)
    assert read_photo(tmp_path / "big.jpg", max_side=4000).shape == (1500, 2000, 3)  # never scaled up
    with pytest.raises(ImageError, match=r"above the 1-megapixel guard .* or pass --max-side 4000"):
        read_photo(tmp_path / "big.jpg", max_pixels=1_000_000)
    with pytest.raises(ImageError, match=r"above the 1-megapixel guard .*downscale it first$"):
        read_photo(tmp_path / "big.png", max_pixels=1_000_000, max_side=500)


def test_native_refuses_a_frame_larger_than_free_memory(trained_run, tmp_path, monkeypatch):
    """Class 10: --native on a whole frame estimates the generator's memory (bytes per pixel from a probe
    frame) and refuses a frame that would not fit, suggesting a --max-side that would."""
    import stargan_cli.translate as translate_module

    Image.fromarray(np.full((600, 800, 3), 90, np.uint8)).save(tmp_path / "scene.png")
    translator = translate_module.LoadedModel.load(trained_run)
    per_pixel = translate_module.free_memory("cpu") / translator.native_pixels(
        translator.label_space.parse_targets("blond")
    )
    widest = max(n.main[0].out_channels for n in translator.networks[:1])  # the generator's first layer
    assert per_pixel == pytest.approx(4 * 4 * widest, rel=0.01)  # float32, 4x the widest output
    monkeypatch.setattr(translate_module, "free_memory", lambda device: int(per_pixel * 200_000))
    code, output = invoke("translate", tmp_path / "scene.png", "--native", "--model", trained_run,
                          "--to", "blond", "--out", tmp_path / "out")  # fmt: skip
    assert_one_line_error(code, output, r"scene.png is 800x600: translating it whole \(--native\) needs more "
                          r"memory than is free here \(room for about 0.2 megapixels\); pass --max-side 500")  # fmt: skip
    assert not (tmp_path / "out").exists()
    code, output = invoke("translate", tmp_path / "scene.png", "--native", "--model", trained_run,
                          "--to", "blond", "--out", tmp_path / "out", "--max-side", 500)  # fmt: skip
    assert code == 0, output
    assert Image.open(tmp_path / "out" / "scene_blond.png").size == (500, 375)


def test_photos_read_ahead_hold_a_bounded_number_of_pixels(monkeypatch, tmp_path):
    """Class 10: a folder of large photos is read ahead only as far as HELD_PIXELS allows (one photo at
    least), not `2 x batch` photos whatever their size. Counted at submission, so the test is exact."""
    from concurrent.futures import ThreadPoolExecutor

    import stargan_cli.translate as translate_module
    from stargan_cli.photos import InputFile

    items = []
    for i in range(8):
        Image.new("RGB", (100, 100)).save(tmp_path / f"{i}.png")  # 10,000 pixels each
        items.append(InputFile(tmp_path / f"{i}.png", tmp_path / f"{i}.png"))
    submitted, yielded, ahead = [0], [0], []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted[0] += 1
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(translate_module, "ThreadPoolExecutor", Counting)
    for budget, most in ((25_000, 2), (5_000, 1), (10**9, 8)):
        monkeypatch.setattr(translate_module, "HELD_PIXELS", budget)
        submitted[0] = yielded[0] = 0
        ahead.clear()
        for job in translate_module._jobs(
            items, lambda item: item, translate_module.TranslateResult(), ahead=8
        ):
            assert job is items[yielded[0]]
            yielded[0] += 1
            ahead.append(submitted[0] - yielded[0] + 1)  # this one and those loading behind it
        assert yielded[0] == 8 and max(ahead) == most, (budget, ahead)


# ----- class 2: crafted reference files --------------------------------------------------------------------
def crafted_ugatit(tmp_path, network: str, key: str, shape: tuple[int, ...]):
    import torch

    from stargan_cli.models.ugatit import UGATITConfig

    from .test_ugatit import reference_file

    path, _ = reference_file(tmp_path, UGATITConfig(**UGATIT_TINY))
    bundle = torch.load(path, weights_only=True)
    for name in (network, "genB2A") if network == "genA2B" else (network,):
        bundle[name][key] = torch.zeros(shape)
    torch.save(bundle, path)
    return path, ("--method", "ugatit", "--from", "selfie", "--to", "anime")


def crafted_unit(tmp_path, network: str, key: str, shape: tuple[int, ...]):
    import torch

    from .test_unit import reference_file

    path, *_ = reference_file(tmp_path)
    bundle = torch.load(path, weights_only=True)
    for half in ("a", "b"):
        bundle[half][key] = torch.zeros(shape)
    torch.save(bundle, path)
    return path, ("--method", "unit", "--from", "summer", "--to", "winter")


CRAFTED = [  # a tensor of the wrong rank where a layer's weight should be
    (crafted_ugatit, "genA2B", "FC.0.weight", (5,), "FC.0.weight .a linear layer's 2-D weight.*damaged"),
    (crafted_ugatit, "genA2B", "DownBlock.1.weight", (0, 3, 7, 7), "has no DownBlock.1.weight"),
    (crafted_ugatit, "disGA", "model.1.weight_orig", (), r"disGA. has no model.1.weight_orig .a convolution's 4-D"),
    (crafted_ugatit, "genA2B", "gamma.weight", (16, 16, 1), r"does not fit the model its other tensors describe"
                                                             r".*gamma.weight \(16, 16, 1\) \(expected \(16, 16\)"),
    (crafted_unit, "a", "enc.model.1.conv.weight", (), "enc.model.1.conv.weight is a 0-D tensor where a convolution"),
    (crafted_unit, "a", "enc.model.1.conv.weight", (8,), "enc.model.1.conv.weight is a 1-D tensor"),
    (crafted_unit, "a", "dec.model.0.model.0.model.0.conv.weight", (16,), "wrong shapes .*dec.model.0.model.0"),
]  # fmt: skip


@pytest.mark.parametrize(("craft", "network", "key", "shape", "message"), CRAFTED,
                         ids=[f"{c.__name__}-{k}-{len(s)}D" for c, _, k, s, _ in CRAFTED])  # fmt: skip
def test_reference_files_with_a_tensor_of_the_wrong_rank(tmp_path, craft, network, key, shape, message):
    path, method = craft(tmp_path, network, key, shape)
    before = snapshot(tmp_path)
    code, output = invoke("import-reference", path, *method, "--image-size", 32, "--out", tmp_path / "model")
    assert_one_line_error(code, output, message)
    assert snapshot(tmp_path) == before and not (tmp_path / "model").exists()


def test_a_folder_given_as_the_file_to_import_is_named_as_a_folder(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "200000-G.ckpt").write_bytes(b"")
    code, output = invoke(
        "import-reference", tmp_path / "models", "--image-size", 128, "--out", tmp_path / "o"
    )
    assert_one_line_error(
        code, output, r"models is a folder; give the checkpoint file itself .it holds 200000-G.ckpt"
    )


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nothing can be written into: mode 555 for a user; for root, who ignores modes, the
    immutable attribute (ext4 and most Linux filesystems)."""
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    try:
        (folder / "probe").touch()
    except OSError:
        pass
    else:
        (folder / "probe").unlink()
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("cannot make a folder read-only here (root, and no chattr)")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def test_prepare_and_train_into_a_read_only_folder_are_one_line(read_only_folder, recipe_file):
    """Class 1: the lock file of prepare (and of train's runs/) is the first thing written there."""
    code, output = invoke(
        "prepare", "toyfaces", "--out", read_only_folder / "toy", "--size", 16, "--train", 4, "--test", 1
    )
    assert_one_line_error(code, output, "cannot write .*read-only/toy: .*choose another destination")
    code, output = invoke("train", recipe_file, "--set", f'output.runs_dir="{read_only_folder}"')
    assert_one_line_error(code, output, "cannot write .*read-only: ")
    assert list(read_only_folder.iterdir()) == []


SMALL_MODELS = {  # the four methods at tiny sizes (each method's test file's), for frames of a few pixels
    "stargan": {"image_size": 16, "g_conv_dim": 4, "g_repeat_num": 1, "d_conv_dim": 4, "d_repeat_num": 2},
    "cyclegan": CYCLEGAN_TINY,
    "ugatit": UGATIT_TINY,
    "unit": UNIT_TINY,
}


@pytest.mark.parametrize("method", list(SMALL_MODELS))
def test_whole_frames_too_small_for_the_generator_are_one_line(method, tmp_path):
    """Class 10: a frame of a few pixels reached a norm layer or a reflection pad with one pixel left (a
    traceback from inside the network, a 500 from serve). The smallest side that works is the model's
    multiple + 1 (padded to 2x the multiple, the deepest map is 2x2); one pixel less is refused."""
    from stargan_cli.checkpoint import ModelInfo, save_model
    from stargan_cli.labels import DatasetLabels, LabelSpace
    from stargan_cli.methods import METHODS
    from stargan_cli.translate import run

    model = METHODS[method].model
    config = model.config(**SMALL_MODELS[method])
    space = LabelSpace((DatasetLabels("pets", ("cat", "dog"), "single"),))
    for role, network in model.build(config, space).items():
        if role in model.exported:
            save_model(
                tmp_path / "model" / f"{role}.safetensors", network, ModelInfo(method, config, space, 1, role)
            )
    smallest = model.multiple(config) + 1
    assert smallest == 5
    for side in (smallest, smallest - 1):
        Image.fromarray(np.full((side, side + 3, 3), 90, np.uint8)).save(tmp_path / f"tiny{side}.png")
    result = run([str(tmp_path / f"tiny{smallest}.png")], str(tmp_path / "model"), "dog", out=str(tmp_path / "o"),
                 native=True)  # fmt: skip
    assert Image.open(result.written[0]).size == (smallest + 3, smallest)
    code, output = invoke("translate", tmp_path / "tiny4.png", "--native", "--model", tmp_path / "model",
                          "--to", "dog", "--out", tmp_path / "o")  # fmt: skip
    assert_one_line_error(code, output, r"tiny4.png is 7x4: too small to translate whole .--native.; this model "
                                        r"needs at least 5 px a side")  # fmt: skip


def test_zip_members_that_climb_out_of_their_folder_are_skipped_and_counted(tmp_path):
    """Class 2: `trainA/../../x.png` in a CycleGAN zip was read as a training image; it is skipped like an
    unreadable member, and the manifest counts it."""
    import zipfile

    from stargan_cli.data.prepared import PreparedDataset

    from .test_cyclegan import write_cyclegan_download

    write_cyclegan_download(tmp_path)
    with zipfile.ZipFile(tmp_path / "horse2zebra.zip", "a") as archive:
        for name in ("horse2zebra/trainA/../../evil.jpg", "horse2zebra/trainB/../../../up.jpg"):
            archive.writestr(name, (tmp_path / "horse2zebra" / "trainA" / "trainA_0.jpg").read_bytes())
    code, output = invoke("prepare", "cyclegan", "--source", tmp_path / "horse2zebra.zip", "--out",
                          tmp_path / "data", "--size", 16)  # fmt: skip
    assert code == 0, output
    prepared = PreparedDataset(tmp_path / "data")
    assert prepared.split_sizes == {"train": 12, "test": 5}  # the 5 + 7 members inside their folders
    assert prepared.manifest["skipped"] == {"path climbs out of its folder in the archive": 2}
    assert not (tmp_path / "evil.jpg").exists()


@pytest.mark.parametrize("fmt", ["safetensors", "onnx"])
def test_an_export_that_fails_part_way_leaves_nothing_behind(trained_run, tmp_path, fmt):
    """Class 6: the generator exports, the discriminator (damaged in the checkpoint) does not: no output
    folder is left, and exporting into the run itself changes none of its files."""
    import shutil

    import torch
    from safetensors.torch import load_file, safe_open, save_file

    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    checkpoint = max((run / "checkpoints").iterdir())
    damaged = checkpoint / "discriminator.safetensors"
    with safe_open(str(damaged), "pt") as handle:
        meta = handle.metadata()
    weights = load_file(damaged)
    first = next(iter(weights))
    weights[first] = torch.full_like(weights[first], float("inf"))
    save_file(weights, damaged, meta)
    before = snapshot(run)
    code, output = invoke("export", run, "--out", tmp_path / "out", "--format", fmt)
    assert_one_line_error(code, output, "discriminator.safetensors holds non-finite weights")
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    code, output = invoke("export", run, "--format", fmt)
    assert_one_line_error(code, output, "holds non-finite weights")
    assert snapshot(run) == before


def test_model_files_are_readable_like_any_file_the_user_writes(trained_run):
    """safetensors creates its files with mode 600: a model shared on a lab machine was unreadable to the
    others; model files and checkpoints get the mode of the user's umask, as the pictures do."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    files = [trained_run / "generator.safetensors", *trained_run.glob("checkpoints/*/*.safetensors")]
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path
