"""`stargan info`: a run, a checkpoint, a model file and a prepared dataset described from their metadata."""

import json

from .cli_helpers import assert_one_line_error, invoke


def info_json(path) -> dict:
    code, output = invoke("info", path, "--json")
    assert code == 0, output
    return json.loads(output)


def test_info_describes_every_kind_of_thing_stargan_writes(trained_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset

    run = info_json(trained_run)
    assert run["kind"] == "run" and run["method"] == "stargan" and run["steps"].startswith("6 of 6")
    assert run["precision"] == "fp32" and run["batch per process"] == 4
    ds = PreparedDataset(toy_dataset)
    assert run["datasets"][str(toy_dataset)].endswith(ds.manifest_sha256[:16])
    assert run["networks"]["generator"].endswith("parameters")
    model = run["model"]
    assert model["network"] == "generator" and model["step"] == 6 and model["image size"] == 16
    assert model["attributes"] == {"toy-celeba": "multi: Black_Hair, Blond_Hair, Brown_Hair, Male, Young"}
    assert model["model config"]["g_conv_dim"] == 8 and model["written by"].startswith("stargan ")

    checkpoint = info_json(trained_run / "checkpoints" / "step-0000006")
    assert checkpoint["kind"] == "checkpoint" and checkpoint["step"] == 6
    assert sorted(checkpoint["networks"]) == ["discriminator", "generator"]

    data = info_json(toy_dataset)
    assert data["name"] == "toy-celeba" and data["splits"] == {"train": 48, "test": 12}
    assert data["manifest sha256"] == ds.manifest_sha256 and data["image size"] == 16

    code, output = invoke("info", trained_run)
    assert code == 0 and "label space" in output and "toy-celeba[5]" in output
    code, output = invoke("info", tmp_path / "missing")
    assert_one_line_error(code, output, "not found")
    (tmp_path / "notes.txt").write_text("hello")
    code, output = invoke("info", tmp_path / "notes.txt")
    assert_one_line_error(code, output, "not something stargan writes")


def test_info_reads_a_folder_of_model_files_and_counts_parameters_not_buffers(trained_run, tmp_path):
    """A folder written by import-reference or export has no config.json; its networks' parameters are the
    trained numbers (the generator's instance norms keep running statistics, which are not counted)."""
    import shutil

    from safetensors.torch import load_file

    from stargan_cli.checkpoint import load_model

    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("generator", "discriminator"):
        shutil.copy(trained_run / f"{name}.safetensors", folder)
    described = info_json(folder)
    assert described["kind"] == "model folder" and described["method"] == "stargan" and described["step"] == 6
    generator, _ = load_model(folder)
    params = sum(p.numel() for p in generator.parameters())
    stored = sum(t.numel() for t in load_file(folder / "generator.safetensors").values())
    assert stored > params  # the file holds buffers too
    assert described["networks"]["generator"] == f"{params:,} parameters"
    assert set(described["networks"]) == {"generator", "discriminator"}
    assert info_json(folder / "generator.safetensors")["parameters"] == f"{params:,}"


def test_info_on_a_checkpoint_whose_state_is_damaged_is_one_line(trained_run, tmp_path):
    import shutil

    checkpoint = tmp_path / "step-0000006"
    shutil.copytree(trained_run / "checkpoints" / "step-0000006", checkpoint)
    for damage in ("{ not json", "[1, 2]", '{"networks": 5}'):
        (checkpoint / "state.json").write_text(damage)
        code, output = invoke("info", checkpoint)
        assert_one_line_error(code, output, r"state.json is damaged .* --resume. skips it")
    (checkpoint / "state.json").write_text('{"step": 6, "last_losses": [1]}')
    assert info_json(checkpoint)["step"] == 6
