"""How often `stargan translate`'s face detector (OpenCV's frontal Haar cascade, faces.py) finds a toy face,
by the face's skin tone (toyfaces' six SKIN_RGB tones, lightest first) and size, with the detector's own
preprocessing (global histogram equalisation) against none and against CLAHE (local equalisation).

Each toy face (toy-celeba test faces of seed 0) is drawn at SIZE px in the middle of a grey-blue canvas;
a hit is a box whose centre falls on the face; other boxes are counted as false. Toy faces are cartoons:
this measures the detector on our own test images, not on people.

    python benchmarks/experiments/face_detection_tones.py [--faces 180]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from stargan_cli.data.readers.toyfaces import SKIN_RGB, render, sample_face
from stargan_cli.faces import FaceDetector


def tone_of(skin: tuple[int, int, int]) -> int:
    return min(
        range(len(SKIN_RGB)), key=lambda k: sum((a - b) ** 2 for a, b in zip(skin, SKIN_RGB[k], strict=True))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=180)
    args = parser.parse_args()
    cascade = FaceDetector().cascade
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    variants = {"equalise (shipped)": cv2.equalizeHist, "none": lambda g: g, "CLAHE": clahe.apply}
    faces = [sample_face(0, 1, i, "celeba") for i in range(args.faces)]
    tones = [tone_of(f.skin) for f in faces]
    print(
        f"{args.faces} toy faces; per tone (lightest first): {[tones.count(t) for t in range(len(SKIN_RGB))]}"
    )
    print(
        "size  preprocessing        " + "  ".join(f"tone {t}" for t in range(len(SKIN_RGB))) + "  false boxes"
    )
    for size in (100, 150, 200):
        hits = {name: np.zeros(len(SKIN_RGB)) for name in variants}
        false = dict.fromkeys(variants, 0)
        for face, tone in zip(faces, tones, strict=True):
            canvas = np.full((2 * size, 3 * size, 3), (118, 132, 150), np.uint8)
            canvas[size // 2 : size // 2 + size, size : 2 * size] = render(face, size)
            gray = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)
            for name, prepare in variants.items():
                boxes = cascade.detectMultiScale(
                    prepare(gray), scaleFactor=1.1, minNeighbors=5, minSize=(20, 20)
                )
                found = sum(
                    1
                    for x, y, w, h in boxes
                    if size < x + w / 2 < 2 * size and size / 2 < y + h / 2 < 1.5 * size
                )
                hits[name][tone] += found > 0
                false[name] += len(boxes) - min(found, 1)
        counts = np.array([tones.count(t) for t in range(len(SKIN_RGB))])
        for name in variants:
            rates = "  ".join(f"{r:6.0%}" for r in hits[name] / np.maximum(counts, 1))
            print(f"{size:4d}  {name:20s} {rates}  {false[name]:5d}")


if __name__ == "__main__":
    main()
