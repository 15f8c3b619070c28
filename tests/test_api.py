"""The Python API (api.py): the README's example runs as written, and a call gives what the command line
writes for the same photo, for each kind of input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import stargan_cli as sg
from stargan_cli.errors import ImageError, LabelError

from .cli_helpers import invoke
from .test_serve import cli_translation, face_photo

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    (example,) = [b for b in blocks if "import stargan_cli as sg" in b]
    return example


def test_the_readme_example_runs_and_equals_the_command_line(trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(face_photo()).save(tmp_path / "face.png")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "latest").symlink_to(trained_run)
    scope: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)  # noqa: S102 - our own README
    out, crop = scope["out"], scope["crop"]
    assert isinstance(out, Image.Image) and out.size == (480, 360)
    expected = cli_translation(tmp_path / "face.png", trained_run, "blond,young=0", tmp_path / "cli")
    assert np.array_equal(np.asarray(out), expected)
    expected = cli_translation(tmp_path / "face.png", trained_run, "black", tmp_path / "cli2", "--no-detect")
    assert np.array_equal(np.asarray(crop), expected)
    printed = capsys.readouterr().out
    assert printed.startswith("stargan 16 {'toy-celeba': (") and "'Young')" in printed


def test_arrays_lists_and_tensors(trained_run, tmp_path):
    model = sg.load(trained_run)
    photo = face_photo()
    before = photo.copy()
    got = model(photo, to="brown", framing="native")
    assert isinstance(got, np.ndarray) and got.shape == photo.shape and np.array_equal(photo, before)
    Image.fromarray(photo).save(tmp_path / "p.png")
    assert np.array_equal(
        got, cli_translation(tmp_path / "p.png", trained_run, "brown", tmp_path / "n", "--native")
    )
    pair = model([photo, Image.fromarray(photo)], to="male", framing="crop")
    assert isinstance(pair[0], np.ndarray) and isinstance(pair[1], Image.Image)
    assert np.array_equal(pair[0], np.asarray(pair[1]))
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    y = model(x, to="blond")
    assert y.shape == x.shape and not torch.equal(x, y)
    assert torch.equal(y, model.translator.apply(x, model.translator.label_space.parse_targets("blond"), {}))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda m: m(face_photo(), to="blond", reference=face_photo()),
            LabelError,
            "takes no reference image",
        ),
        (lambda m: m(face_photo(), to="blond", seed=3), LabelError, "takes no seed"),
        (lambda m: m(face_photo(), to="purple"), LabelError, "unknown attribute 'purple'"),
        (lambda m: m(face_photo(), to="blond", framing="sideways"), LabelError, "framing 'sideways'"),
        (lambda m: m(np.zeros((8, 8), np.float32), to="blond"), ImageError, "is an array float32 \\(8, 8\\)"),
        (lambda m: m(torch.zeros(1, 3, 32, 32), to="blond"), ImageError, "\\(B, 3, 16, 16\\)"),
        (
            lambda m: m(np.full((90, 90, 3), 128, np.uint8), to="blond"),
            ImageError,
            "no face found .*framing='crop'",
        ),
    ],
    ids=["reference", "seed", "unknown", "framing", "array", "tensor", "no-face"],
)
def test_bad_calls_are_one_line_errors(trained_run, call, error, message):
    with pytest.raises(error, match=message):
        call(sg.load(trained_run))


def test_importing_the_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, stargan_cli; assert 'torch' not in sys.modules; print(stargan_cli.__version__)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0
    code, output = invoke("--version")
    assert code == 0
