import numpy as np

from stargan_cli.data.readers.toyfaces import (
    CELEBA_ATTRIBUTES,
    EXPRESSIONS,
    face_of_source,
    labels_of,
    render,
    render_item,
    sample_face,
    with_labels,
)


def test_rendering_is_deterministic_and_seeded():
    a = render(sample_face(0, 0, 5, "celeba"), 32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render(sample_face(0, 0, 5, "celeba"), 32))
    assert not np.array_equal(a, render(sample_face(1, 0, 5, "celeba"), 32))
    assert not np.array_equal(a, render(sample_face(0, 1, 5, "celeba"), 32))


def test_labels_follow_the_parameters():
    face = sample_face(0, 0, 3, "celeba")
    labels = labels_of(face, "celeba")
    assert labels.shape == (len(CELEBA_ATTRIBUTES),) and labels[:3].sum() == 1
    assert labels[face.hair] == 1 and labels[3] == face.male and labels[4] == face.young
    rafd = sample_face(0, 0, 3, "rafd")
    assert labels_of(rafd, "rafd").argmax() == rafd.expression and labels_of(rafd, "rafd").sum() == 1


def test_counterfactual_changes_only_the_attribute():
    face = sample_face(0, 0, 11, "celeba")
    base = labels_of(face, "celeba")
    hair = (face.hair + 1) % 3
    target = base.copy()
    target[:3] = 0
    target[hair] = 1
    other = with_labels(face, "celeba", target)
    assert other.hair == hair and (other.male, other.young) == (face.male, face.young)
    assert (other.cx, other.skin, other.background) == (face.cx, face.skin, face.background)
    a, b = render(face, 32).astype(int), render(other, 32).astype(int)
    changed = np.abs(a - b).sum(2) > 0
    assert 0.03 < changed.mean() < 0.6  # the hair, not the whole picture
    assert np.array_equal(render(with_labels(other, "celeba", base), 32), render(face, 32))


def test_every_expression_looks_different():
    face = sample_face(0, 0, 2, "rafd")
    images = [
        render(with_labels(face, "rafd", np.eye(8)[i]), 32).astype(int) for i in range(len(EXPRESSIONS))
    ]
    for i in range(8):
        for j in range(i + 1, 8):
            assert np.abs(images[i] - images[j]).sum() > 300, (EXPRESSIONS[i], EXPRESSIONS[j])


def test_source_line_rebuilds_the_face():
    image, labels, source, _ = render_item(("rafd", 3, "test", 9, 16))
    face, style = face_of_source(source)
    assert style == "rafd" and np.array_equal(render(face, 16), image)
    assert np.array_equal(labels_of(face, style), labels)
