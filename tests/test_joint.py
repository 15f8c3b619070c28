"""Joint training over two datasets with the mask vector (toy-celeba + toy-rafd, layout [5 | 8 | 2])."""

import json

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from stargan_cli.cli import app
from stargan_cli.labels import LabelSpace
from stargan_cli.objectives.stargan import CrossTargets, StarGANBatch, draw_cross
from stargan_cli.translate import LoadedModel

from .method_helpers import objective as stargan_objective


def space(run) -> LabelSpace:
    from stargan_cli.checkpoint import read_info

    return read_info(run / "generator.safetensors").label_space


def test_batches_of_each_dataset_get_their_own_slice_and_mask(joint_run):
    ls = space(joint_run)
    assert [d.name for d in ls.datasets] == ["toy-celeba", "toy-rafd"]
    assert (ls.num_classes, ls.generator_dim) == (13, 15)
    objective = stargan_objective(ls)
    celeba = StarGANBatch(
        torch.zeros(2, 3, 16, 16),
        0,
        torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 1, 0, 1]]),
        torch.tensor([[0.0, 1, 0, 1, 0], [1, 0, 0, 0, 1]]),
    )
    c_org, c_trg = objective.generator_labels(celeba)
    assert c_org.tolist() == [[1, 0, 0, 1, 0] + [0] * 8 + [1, 0], [0, 0, 1, 0, 1] + [0] * 8 + [1, 0]]
    assert c_trg.tolist() == [[0, 1, 0, 1, 0] + [0] * 8 + [1, 0], [1, 0, 0, 0, 1] + [0] * 8 + [1, 0]]
    happy, sad = torch.eye(8)[4], torch.eye(8)[6]
    rafd = StarGANBatch(torch.zeros(2, 3, 16, 16), 1, torch.stack([happy, sad]), torch.stack([sad, happy]))
    c_org, c_trg = objective.generator_labels(rafd)
    assert c_org.tolist() == [[0] * 5 + happy.tolist() + [0, 1], [0] * 5 + sad.tolist() + [0, 1]]
    assert c_trg.tolist() == [[0] * 5 + sad.tolist() + [0, 1], [0] * 5 + happy.tolist() + [0, 1]]
    # the classification loss of a RaFD batch reads logits 5..12 only, with cross-entropy
    logits = torch.zeros(2, 13)
    logits[:, :5] = 100.0  # CelebA logits: would dominate a loss that looked at them
    loss = objective._classification(logits, 1, rafd.labels_org)
    assert abs(loss.item() - torch.log(torch.tensor(8.0)).item()) < 1e-5


def test_cross_rows_get_the_other_datasets_label_mask_and_loss(joint_run):
    ls = space(joint_run)
    objective = stargan_objective(ls)
    happy, sad = torch.eye(8)[4], torch.eye(8)[6]
    org = torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 1, 0, 1], [0, 1, 0, 0, 0]])
    trg = torch.tensor([[0.0, 1, 0, 1, 0], [1, 0, 0, 0, 1], [1, 0, 0, 1, 1]])
    cross = CrossTargets(torch.tensor([0, 2]), 1, torch.stack([happy, sad]))
    batch = StarGANBatch(torch.zeros(3, 3, 16, 16), 0, org, trg, cross)
    c_org, c_trg = objective.generator_labels(batch)
    assert c_org[:, -2:].tolist() == [[1, 0]] * 3  # reconstruction: every row back to its own mask
    assert c_trg.tolist() == [
        [0] * 5 + happy.tolist() + [0, 1],  # rows 0 and 2: RaFD targets under the RaFD mask
        [1, 0, 0, 0, 1] + [0] * 8 + [1, 0],  # row 1: its own CelebA target
        [0] * 5 + sad.tolist() + [0, 1],
    ]
    # G's classification: row 1 by summed BCE on logits 0..4 against its target; rows 0 and 2 by
    # cross-entropy on 5..12 against their expressions plus summed BCE on 0..4 against their own
    # (kept) labels; averaged over the 3 rows
    logits = torch.zeros(3, 13)
    logits[:, :5] = torch.tensor([[3.0, -2, 0, 1, -1], [2.0, -1, 0, 1, 3], [0.5, 1, -3, 0, 2]])
    logits[0, 5 + 4] = 1.0  # row 0 leans to its target, happy
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ce_row0 = -torch.log_softmax(logits[0, 5:], 0)[4]
    ce_row2 = torch.log(torch.tensor(8.0))  # uniform logits
    own = bce(logits[1, :5], trg[1], reduction="sum")
    kept = bce(logits[0, :5], org[0], reduction="sum") + bce(logits[2, :5], org[2], reduction="sum")
    expected = (own + ce_row0 + ce_row2 + kept) / 3
    assert abs(objective._target_classification(logits, batch).item() - expected.item()) < 1e-6


def test_cross_targets_are_seeded_rows_of_the_other_dataset():
    others = {1: np.eye(8, dtype=np.float32)[[0, 3, 3, 7, 5]]}
    cross = draw_cross(7, 11, 0, 0, 16, 0.25, others, torch.device("cpu"))
    assert cross.dataset == 1 and len(cross.rows) == 4
    assert cross.rows.tolist() == sorted(set(cross.rows.tolist())) and cross.rows.max() < 16
    rows = {tuple(r) for r in others[1].tolist()}
    assert all(tuple(r) in rows for r in cross.labels.tolist())
    again = draw_cross(7, 11, 0, 0, 16, 0.25, others, torch.device("cpu"))
    assert torch.equal(again.rows, cross.rows) and torch.equal(again.labels, cross.labels)
    assert draw_cross(7, 12, 0, 0, 16, 0.25, others, torch.device("cpu")).rows.tolist() != cross.rows.tolist()
    assert draw_cross(7, 11, 0, 0, 16, 0.0, others, torch.device("cpu")) is None


def test_joint_run_logs_and_samples(joint_run):
    rows = [json.loads(line) for line in (joint_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and "G/cls" in rows[-1]
    # samples: 2 toy-celeba rows then 2 toy-rafd rows; columns: input + 5 CelebA targets + 8 expressions
    assert Image.open(joint_run / "samples" / "step-0000004.png").size == (14 * 18 + 2, 2 * (2 * 18 + 2))


def test_blond_and_happy_are_two_passes_with_their_own_masks(joint_run):
    translator = LoadedModel.load(joint_run)
    seen = []
    original = translator.model.generator.forward
    translator.model.generator.forward = lambda x, c: (seen.append(c.clone()), original(x, c))[1]
    ls = translator.label_space
    given = {0: torch.tensor([1.0, 0, 0, 1, 0])}  # --from black,male
    translator.apply(torch.zeros(1, 3, 16, 16), ls.parse_targets("blond,happy"), given)
    assert [c.tolist() for c in seen] == [
        [
            [0, 1, 0, 1, 0] + [0] * 8 + [1, 0]
        ],  # CelebA pass: blond, other hair cleared, male kept, CelebA mask
        [[0] * 5 + [0, 0, 0, 0, 1, 0, 0, 0] + [0, 1]],  # RaFD pass: happy, RaFD mask
    ]
    seen.clear()
    translator.apply(torch.zeros(1, 3, 16, 16), ls.parse_targets("sad,young=0"), given)
    assert [c[0, -2:].tolist() for c in seen] == [[0, 1], [1, 0]]  # passes in the order of --to


def test_grid_shows_every_target_of_every_dataset(joint_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset

    face = tmp_path / "face.png"
    Image.fromarray(PreparedDataset(toy_dataset).split("test").images[0]).save(face)
    result = CliRunner().invoke(
        app,
        [
            "translate",
            "--no-detect",
            str(face),
            "--model",
            str(joint_run),
            "--grid",
            "--to",
            "blond,happy",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out" / "face_grid.png").size == (14 * 18 + 2, 20)
    assert (tmp_path / "out" / "face_blond_happy.png").is_file()


def test_evaluate_reports_each_dataset_and_across(joint_run, tmp_path):
    result = CliRunner().invoke(app, ["evaluate", str(joint_run), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["by_pair"]) == [
        "toy-celeba",
        "toy-celeba -> toy-rafd",
        "toy-rafd",
        "toy-rafd -> toy-celeba",
    ]
    cross = [s for s in report["scores"] if s["source"] == "toy-celeba" and s["dataset"] == "toy-rafd"]
    assert [s["attribute"] for s in cross][:2] == ["angry", "contemptuous"] and len(cross) == 8
    assert all(s["pairs"] == 12 for s in cross)  # every test face, to every expression
    assert all(s["counterfactual_l1"] is not None and s["preservation"] is not None for s in cross)
    own_rafd = [s for s in report["scores"] if s["source"] == s["dataset"] == "toy-rafd"]
    assert sum(s["pairs"] for s in own_rafd) == 8 * 7  # each test face to the 7 other expressions
    assert all(s["preservation"] is None for s in own_rafd)
