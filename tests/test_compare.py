"""`stargan compare`: each model's numbers are `evaluate`'s, on the images every model with a target covers;
targets a model lacks are marked, in the table and the picture; the cost facts come from the runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from stargan_cli.config import load_recipe
from stargan_cli.evaluate.compare import compare, tables
from stargan_cli.evaluate.run import evaluate
from stargan_cli.models.unit import UNITConfig, build
from stargan_cli.train.loop import train

from .method_helpers import two_domain_recipe
from .test_fid import ChannelMeans

CYCLEGAN = {"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}
UNIT = {
    "image_size": 16,
    "dim": 4,
    "n_res": 1,
    "shared_layers": 1,
    "dis_dim": 4,
    "dis_layers": 2,
    "dis_scales": 2,
}


@pytest.fixture(scope="module")
def two_domain_runs(toy_dataset, tmp_path_factory):
    runs = []
    for architecture, model in (("cyclegan", CYCLEGAN), ("unit", UNIT)):
        root = tmp_path_factory.mktemp(architecture)
        path = two_domain_recipe(root, toy_dataset, architecture, model, steps=2)
        runs.append(train(load_recipe(path)[0]).run_dir)
    return runs


def test_each_model_is_scored_as_evaluate_scores_it_on_the_images_all_share(
    trained_run, two_domain_runs, tmp_path
):
    cyclegan, unit = two_domain_runs
    result = compare(
        [trained_run, cyclegan, unit],
        out=tmp_path / "c.json",
        batch_size=7,
        features=ChannelMeans(),
        fid_images=20,
    )
    assert [e.name for e in result.entries] == ["stargan", "cyclegan", "unit"]
    shared = [("toy-celeba", "Black_Hair"), ("toy-celeba", "Blond_Hair")]
    assert result.shared == shared
    assert [a for _, a in result.targets] == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    alone = {run: evaluate(run, features=ChannelMeans(), fid_images=20, batch_size=7, out=tmp_path / f"{i}.json")
             for i, run in enumerate((trained_run, cyclegan, unit))}  # fmt: skip
    for entry in result.entries[1:]:  # the two-domain models cover the same faces: evaluate's numbers
        assert [s.to_dict() for s in entry.scores] == [s.to_dict() for s in alone[entry.path].scores]
        assert all(s.fid > 0 and s.kid is not None for s in entry.scores)  # FID/KID included
        assert entry.score("toy-celeba", "Male") is None
    stargan = result.entries[0]
    own = {s.attribute: s for s in alone[trained_run].scores}
    for attribute in ("Brown_Hair", "Male", "Young"):  # StarGAN's alone: all its faces, as evaluate
        assert stargan.score("toy-celeba", attribute).to_dict() == own[attribute].to_dict()
    for _, attribute in shared:  # only the faces of the other hair domain, as the two-domain models
        mine, theirs = (
            stargan.score("toy-celeba", attribute),
            result.entries[1].score("toy-celeba", attribute),
        )
        assert mine.pairs == theirs.pairs < own[attribute].pairs
        assert mine.identity_l1 == pytest.approx(theirs.identity_l1)  # the same faces, the same truths

    for _, attribute in shared:  # the same number of translations into each domain: comparable FIDs
        fids = [e.score("toy-celeba", attribute).fid for e in result.entries]
        assert all(f is not None for f in fids) and len(set(fids)) == 3

    report = json.loads((tmp_path / "c.json").read_text())
    assert report["fid"]["features"] == "ChannelMeans" and report["fid"]["note"] is None
    assert report["shared_targets"] == [list(t) for t in shared]
    facts = {m["name"]: m for m in report["models"]}
    assert (
        facts["cyclegan"]["parameters"]
        == sum(p.numel() for e in result.entries[1:2] for p in e.translator.into["b"].parameters()) * 2
    )  # both generators
    assert facts["cyclegan"]["trained_parameters"] > facts["cyclegan"]["parameters"]  # + discriminators
    unit_networks = build(
        UNITConfig(**UNIT, domains=("Black_Hair", "Blond_Hair")), result.entries[2].info.label_space
    )
    unique = {id(p): p for net in unit_networks.values() for p in net.parameters()}  # shared layers once
    assert facts["unit"]["trained_parameters"] == sum(p.numel() for p in unique.values())
    assert facts["unit"]["minutes"] > 0 and facts["unit"]["images_per_s"] > 0
    assert report["models"][1]["shared_summary"]["fid"] == pytest.approx(
        sum(result.entries[1].score(*t).fid for t in shared) / 2
    )
    assert report["models"][0]["shared_summary"]["target_accuracy"] == pytest.approx(
        sum(stargan.score(*t).target_accuracy * stargan.score(*t).pairs for t in shared)
        / sum(stargan.score(*t).pairs for t in shared)
    )

    picture = np.asarray(Image.open(result.picture))
    scale, cell = 6, 18 * 6  # 16 px faces scaled up to 96 px, 2 px gaps
    assert picture.shape == (54 + (2 + 4 * 18) * scale, (2 + (1 + 5 * 3) * 18) * scale, 3)
    top, left = 54 + 2 * scale, 2 * scale + 11 * cell  # the first face's row; column 11: cyclegan's Male
    blank = picture[top : top + 16 * scale, left : left + 16 * scale]
    assert 127 <= np.median(blank) <= 128  # mid grey (0 in [-1, 1])
    assert blank.min() == 51  # and its cross (-0.6)

    models, scores = tables(result)
    assert "Black_Hair, Blond_Hair" in str(scores.caption)
    header = [c.header for c in scores.columns]
    assert header == ["target", "model", "pairs", "acc", "kept", "rec", "truth", "FID", "KID"]
    cells = [list(c.cells) for c in scores.columns]
    rows = list(zip(*cells, strict=True))
    # per target: one row per model and noop; then the shared means and noop
    assert len(rows) == 5 * 4 + 4
    male = rows[3 * 4 : 4 * 4]
    assert [r[0] for r in male] == ["Male", "", "", ""]
    assert [r[1] for r in male] == ["stargan", "cyclegan", "unit", "noop"]
    assert male[1][3] == "n/a" and male[0][3] == f"{stargan.score('toy-celeba', 'Male').target_accuracy:.1%}"
    assert rows[-3][7] == f"{report['models'][1]['shared_summary']['fid']:.2f}"


def test_the_command_line_prints_the_tables_and_refuses_bad_inputs(trained_run, two_domain_runs, tmp_path):
    from .cli_helpers import assert_one_line_error, invoke

    code, output = invoke(
        "compare", trained_run, two_domain_runs[0], "--out", tmp_path / "cmp.json", "--limit", 20
    )
    assert code == 0, output
    assert "n/a" in output and "cyclegan" in output and (tmp_path / "cmp.png").is_file()
    code, output = invoke("compare", trained_run, "--out", tmp_path / "x.json")
    assert_one_line_error(code, output, "at least two models")
    code, output = invoke("compare", trained_run, two_domain_runs[0], "--out", tmp_path)
    assert_one_line_error(code, output, "give the comparison's file name")
    code, output = invoke(
        "compare", trained_run, two_domain_runs[0], "--out", tmp_path / "y.json", "--batch-size", 0
    )
    assert_one_line_error(code, output, "--batch-size must be at least 1, got 0")


def test_damaged_metrics_lines_cost_a_dash_not_the_comparison(trained_run, two_domain_runs, tmp_path):
    """A run's metrics.jsonl with lines cut short, edited or not UTF-8: the comparison goes on; images/s is
    the median of the good lines, and the training minutes are unknown ("-")."""
    import shutil

    run = tmp_path / "0001-cyclegan"
    shutil.copytree(two_domain_runs[0], run, ignore=shutil.ignore_patterns("checkpoints", "samples"))
    good = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    damaged = [b'{"step": 3, "images/s": 1', b"[1, 2]", b'"text"', b"\xff\xfe not utf-8",
               b'{"step": 4, "images/s": "fast", "seconds": null}', b'{"step": 5, "images/s": true}']  # fmt: skip
    (run / "metrics.jsonl").write_bytes(
        b"\n".join([(run / "metrics.jsonl").read_bytes().rstrip(b"\n"), *damaged]) + b"\n"
    )
    result = compare([trained_run, run], out=tmp_path / "c.json", batch_size=7, fid=False)
    facts = result.entries[1].facts
    assert facts["images_per_s"] == pytest.approx(float(np.median([r["images/s"] for r in good])))
    assert facts["minutes"] is None
    models, _ = tables(result)
    row = [list(c.cells)[1] for c in models.columns]
    assert row[-1] == "-" and row[-2] == f"{facts['images_per_s']:.0f}"
