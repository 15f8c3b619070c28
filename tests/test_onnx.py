"""ONNX export: named inputs, dynamic batch, metadata, parity with PyTorch, and translate through onnxruntime."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from .cli_helpers import assert_one_line_error, invoke

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def onnx_model(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    code, output = invoke("export", trained_run, "--format", "onnx", "--out", out)
    assert code == 0, output
    return out, output


def test_export_writes_checked_self_describing_files(onnx_model):
    out, output = onnx_model
    assert sorted(p.name for p in out.iterdir()) == ["discriminator.onnx", "generator.onnx"]
    diff = float(re.search(r"onnxruntime vs PyTorch: max \|diff\| (\S+)", output).group(1))
    assert diff < 1e-4
    model = onnx.load(str(out / "generator.onnx"))
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input
    }
    assert inputs["image"][1:] == [3, 16, 16] and inputs["label"][1:] == [5]
    assert (
        isinstance(inputs["image"][0], str) and inputs["image"][0] == inputs["label"][0]
    )  # one dynamic batch
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["stargan.role"] == "generator" and meta["stargan.image_size"] == "16"
    assert json.loads(meta["stargan.label_space"])["datasets"][0]["name"] == "toy-celeba"


def test_translate_through_onnxruntime_matches_pytorch(onnx_model, trained_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset

    out, _ = onnx_model
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, image in enumerate(PreparedDataset(toy_dataset).split("test").images[:3]):
        Image.fromarray(image).save(folder / f"{i}.png")
    results = {}
    for name, model in (("onnx", out / "generator.onnx"), ("torch", trained_run)):
        code, output = invoke(
            "translate",
            folder,
            "--no-detect",
            "--model",
            model,
            "--to",
            "blond,young=0",
            "--out",
            tmp_path / name,
        )
        assert code == 0, output
        results[name] = [np.asarray(Image.open(tmp_path / name / f"{i}_blond_young-0.png")) for i in range(3)]
    for a, b in zip(results["onnx"], results["torch"], strict=True):
        assert np.abs(a.astype(int) - b).max() <= 1  # rounding to uint8 of values within 1e-4


def test_unknown_format_and_damaged_onnx(tmp_path, trained_run, toy_dataset):
    code, output = invoke("export", trained_run, "--format", "tflite")
    assert_one_line_error(code, output, "format 'tflite' is not available; use safetensors or onnx")
    bad = tmp_path / "generator.onnx"
    bad.write_bytes(b"garbage")
    face = tmp_path / "face.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(face)
    code, output = invoke(
        "translate", face, "--no-detect", "--model", bad, "--to", "blond", "--from", "black"
    )
    assert_one_line_error(code, output, "generator.onnx is not a readable ONNX file")


def test_info_reads_an_onnx_file(onnx_model):
    out, _ = onnx_model
    code, output = invoke("info", out / "generator.onnx", "--json")
    assert code == 0, output
    described = json.loads(output)
    assert described["kind"] == "ONNX model file" and described["method"] == "stargan"
    assert described["network"] == "generator" and described["image size"] == 16 and described["bytes"] > 0
