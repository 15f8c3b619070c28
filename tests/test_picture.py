"""The report picture: grid layout and bar lengths read back from the pixels."""

import numpy as np
from PIL import Image

from stargan_cli.evaluate.metrics import AttributeScore
from stargan_cli.evaluate.picture import BAR_H, COLOURS, LABEL_W, chart
from stargan_cli.evaluate.run import evaluate


def _score(attribute: str, acc: float, kept: float | None, ceil: float) -> AttributeScore:
    return AttributeScore("toy", attribute, 10, acc, kept, 0.1, evaluator_accuracy=ceil, source="toy")


def test_bars_are_as_long_as_the_numbers():
    scores = [_score("a", 0.25, 0.5, 0.9), _score("b", 1.0, None, 1.0), _score("c", 0.0, 1.0, 0.5)]
    width = 900
    image = np.asarray(chart(scores, width))
    span = width - LABEL_W - 20
    for i, s in enumerate(scores):
        y = 30 + i * (BAR_H + 8)
        blue = (image[y + 3] == COLOURS["acc"]).all(1)
        assert blue.sum() in (int(span * s.target_accuracy), int(span * s.target_accuracy) + 1)
        row = image[y + BAR_H - 1, LABEL_W:]  # the ceiling's red tick may cross the green bar
        on = (row == COLOURS["kept"]).all(1) | (row == COLOURS["ceil"]).all(1)
        green = int(np.argmin(on)) if on[0] else 0  # length of the run starting at the bar's left end
        assert green == (0 if s.preservation is None else int(span * s.preservation) + 1)
        red = np.flatnonzero((image[y + BAR_H // 2] == COLOURS["ceil"]).all(1))
        assert abs(red.mean() - (LABEL_W + span * s.evaluator_accuracy)) <= 1.5


def test_evaluate_writes_the_picture_beside_the_report(trained_run, tmp_path):
    report = evaluate(trained_run, out=tmp_path / "r.json", fid=False)
    assert report.picture == tmp_path / "r.png" and report.data["picture"] == str(report.picture)
    image = Image.open(report.picture)
    # 16 px faces scaled x6; 3 test images of one dataset; input + 5 targets; then one bar per attribute
    cell = (16 + 2) * 6
    assert image.width == max(6 * cell + 2 * 6, 720)
    assert image.height == 32 + (3 * 18 + 2) * 6 + 10 + 30 + 5 * (BAR_H + 8) + 10  # names in two lines
