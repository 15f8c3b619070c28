"""Where a user gets stuck: a missing download or model is exit 2 with what to get and the command to run;
--version; every run says what is running; the design card's lines work as written."""

import os
import shutil

import pytest
from PIL import Image

from stargan_cli import __version__

from .cli_helpers import invoke


def test_version():
    code, output = invoke("--version")
    assert code == 0 and output.strip() == f"stargan {__version__}"


def test_prepare_without_source_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, where in (
        ("celeba", "mmlab.ie.cuhk.edu.hk/projects/CelebA.html"),
        ("rafd", "rafd.socsci.ru.nl"),
    ):
        code, output = invoke("prepare", name)
        flat = " ".join(output.split())
        assert code == 2 and flat.startswith("error: no --source given and nothing at data/raw/" + name), (
            output
        )
        assert where in flat and f"stargan prepare {name} --source DIR" in flat
        assert not (tmp_path / "data" / name).exists()


def test_prepare_reads_the_conventional_place(tmp_path, monkeypatch):
    """data/raw/rafd holding expression folders is read without --source."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STARGAN_QUIET")  # the messages this test reads
    for expression in ("happy", "sad"):
        folder = tmp_path / "data" / "raw" / "rafd" / expression
        folder.mkdir(parents=True)
        for person in range(4):
            Image.new("RGB", (20, 24), (40 * person, 90, 160)).save(
                folder / f"Rafd090_{person:02d}_{expression}.jpg"
            )
    code, output = invoke("prepare", "rafd", "--size", 16, "--workers", 1)
    assert code == 0, output
    assert (
        "no --source: reading data/raw/rafd" in output
        and (tmp_path / "data" / "rafd" / "manifest.json").is_file()
    )


def test_translate_without_model_uses_runs_latest_or_says_how_to_get_one(
    trained_run, face_files, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, output = invoke("translate", face_files[0], "--to", "blond", "--no-detect", "--out", tmp_path / "o")
    assert code == 2 and "no trained model at runs/latest" in " ".join(output.split())
    (tmp_path / "runs").mkdir()
    os.symlink(trained_run, tmp_path / "runs" / "latest")
    code, output = invoke("translate", face_files[0], "--to", "blond", "--no-detect", "--out", tmp_path / "o")
    assert code == 0, output
    assert (tmp_path / "o" / f"{face_files[0].stem}_blond.png").is_file()


def test_train_says_what_is_running(recipe_file, monkeypatch):
    monkeypatch.delenv("STARGAN_QUIET")  # the line this test reads
    code, output = invoke(
        "train", "--recipe", recipe_file, "--set", "train.steps=1", "--set", "train.decay_start=0"
    )
    assert code == 0, output
    flat = " ".join(output.split())
    assert (
        "training stargan on 1 process on cpu (CPU, " in flat
        and "fp32; batch 4 per process, 4 in all" in flat
    )


def test_the_design_cards_joint_line_works_as_written(joint_run, toy_dataset, tmp_path, monkeypatch):
    """`stargan translate img.jpg --to blond,happy` on a joint model found at runs/latest (--no-detect here:
    a toy face is already a crop, which the Haar detector does not take for a photo of a face)."""
    from stargan_cli.data.prepared import PreparedDataset

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    os.symlink(joint_run, tmp_path / "runs" / "latest")
    face = PreparedDataset(toy_dataset).split("test").images[0]
    Image.fromarray(face).resize((64, 64)).save(tmp_path / "img.jpg")
    code, output = invoke("translate", "img.jpg", "--to", "blond,happy", "--no-detect")
    assert code == 0, output
    assert Image.open(tmp_path / "img_blond_happy.jpg").size == (64, 64)
    shutil.rmtree(tmp_path / "runs")


@pytest.mark.parametrize(("native", "said"), [("avx512_bf16", "bf16 (auto: avx512_bf16 computes bf16 natively)"),
                                              ("", "fp32 (auto: this CPU has no native bf16)")])  # fmt: skip
def test_train_says_which_precision_auto_chose_and_why(recipe_file, monkeypatch, native, said):
    """`train.precision = "auto"` (the demo's): bf16 autocast where the CPU has native bf16 instructions,
    fp32 where bf16 would be emulated; the opening line says which and why, and the run trains in it."""
    import json

    from stargan_cli import accelerators

    monkeypatch.delenv("STARGAN_QUIET")
    monkeypatch.setattr(accelerators, "native_bf16", lambda device_type: native)
    code, output = invoke("train", "--recipe", recipe_file, "--set", "train.steps=1", "--set",
                          "train.decay_start=0", "--set", 'train.precision="auto"')  # fmt: skip
    assert code == 0, output
    assert f"{said}; batch 4 per process" in " ".join(output.split())
    run = max(p for p in (recipe_file.parent / "runs").iterdir() if p.name[:1].isdigit())
    assert json.loads((run / "config.json").read_text())["train"]["precision"] == "auto"  # resumes alike


def test_native_bf16_is_read_from_the_cpu(monkeypatch):
    import torch

    from stargan_cli.accelerators import native_bf16, resolve_precision

    for avx512, amx, expected in (
        (True, False, "avx512_bf16"),
        (False, True, "amx_bf16"),
        (False, False, ""),
    ):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert native_bf16("cpu") == expected
    assert resolve_precision("fp16", "cpu") == ("fp16", "")
