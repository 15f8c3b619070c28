import pytest
import torch

from stargan_cli.errors import LabelError
from stargan_cli.labels import DatasetLabels, LabelSpace, Target

CELEBA = DatasetLabels(
    "celeba",
    ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"),
    "multi",
    (("Black_Hair", "Blond_Hair", "Brown_Hair"),),
)
RAFD = DatasetLabels(
    "rafd",
    ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"),
    "single",
)


def test_single_dataset_layout_has_no_mask():
    space = LabelSpace((CELEBA,))
    assert (space.num_classes, space.mask_size, space.generator_dim) == (5, 0, 5)
    label = space.generator_label(0, torch.tensor([[0.0, 1, 0, 1, 0]]))
    assert label.tolist() == [[0, 1, 0, 1, 0]]


def test_joint_layout_is_the_reference_5_8_2():
    space = LabelSpace((CELEBA, RAFD))
    assert (space.num_classes, space.generator_dim) == (13, 15)
    celeba = space.generator_label(0, torch.tensor([[1.0, 0, 0, 0, 1]]))
    rafd = space.generator_label(1, torch.nn.functional.one_hot(torch.tensor([4]), 8).float())
    assert celeba.tolist() == [[1, 0, 0, 0, 1] + [0] * 8 + [1, 0]]
    assert rafd.tolist() == [[0] * 5 + [0, 0, 0, 0, 1, 0, 0, 0] + [0, 1]]
    assert space.slice(1) == slice(5, 13)


def test_resolve_by_exact_name_word_and_prefix():
    space = LabelSpace((CELEBA, RAFD))
    assert space.resolve("Blond_Hair") == (0, "Blond_Hair")
    assert space.resolve("blond") == (0, "Blond_Hair")
    assert space.resolve("MALE") == (0, "Male")
    assert space.resolve("surp") == (1, "surprised")
    assert space.resolve("happy") == (1, "happy")


def test_ambiguous_and_unknown_names_list_choices():
    space = LabelSpace((CELEBA, RAFD))
    with pytest.raises(LabelError, match="ambiguous.*Black_Hair, Blond_Hair, Brown_Hair"):
        space.resolve("hair")
    with pytest.raises(LabelError, match="Did you mean Blond_Hair.*Valid names: Black_Hair"):
        space.resolve("Blonde_Hair")
    with pytest.raises(LabelError, match="value must be between 0 and 1"):
        space.parse_targets("male=2")
    with pytest.raises(LabelError, match="single-label"):
        space.parse_targets("happy=0.5")


def test_parse_and_apply_targets_keep_unnamed_attributes():
    space = LabelSpace((CELEBA, RAFD))
    targets = space.parse_targets("blond, male=0, young=0.5, happy")
    assert targets == [
        Target(0, "Blond_Hair", 1.0),
        Target(0, "Male", 0.0),
        Target(0, "Young", 0.5),
        Target(1, "happy", 1.0),
    ]
    source = torch.tensor([[1.0, 0, 0, 1, 1], [0, 0, 1, 0, 0]])
    assert space.apply_targets(0, source, targets).tolist() == [[0, 1, 0, 0, 0.5], [0, 1, 0, 0, 0.5]]
    only_male = space.apply_targets(0, source, [Target(0, "Male", 1.0)])
    assert only_male.tolist() == [[1, 0, 0, 1, 1], [0, 0, 1, 1, 0]]
    happy = space.apply_targets(1, torch.zeros(1, 8), targets)
    assert happy.tolist() == [[0, 0, 0, 0, 1, 0, 0, 0]]


def test_fractional_hair_colour_interpolates_the_group():
    space = LabelSpace((CELEBA,))
    out = space.apply_targets(0, torch.tensor([[1.0, 0, 0, 0, 1]]), [Target(0, "Blond_Hair", 0.25)])
    assert out.tolist() == [[0.75, 0.25, 0, 0, 1]]


def test_single_targets_follow_the_reference_test_protocol():
    space = LabelSpace((CELEBA,))
    source = torch.tensor([[1.0, 0, 0, 1, 0]])
    targets = dict((n, t.tolist()) for n, t in space.single_targets(0, source))
    assert targets == {
        "Black_Hair": [[1, 0, 0, 1, 0]],
        "Blond_Hair": [[0, 1, 0, 1, 0]],
        "Brown_Hair": [[0, 0, 1, 1, 0]],
        "Male": [[1, 0, 0, 0, 0]],
        "Young": [[1, 0, 0, 1, 1]],
    }


def test_json_round_trip_and_validation():
    space = LabelSpace((CELEBA, RAFD))
    assert LabelSpace.from_json(space.to_json()) == space
    with pytest.raises(LabelError, match="unique"):
        LabelSpace((CELEBA, CELEBA))
    with pytest.raises(LabelError, match="kind"):
        DatasetLabels("x", ("a",), "many")
