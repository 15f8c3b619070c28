"""How fast `stargan serve` answers: seconds from sending a photo to having the translated PNG, with the
paper's 128 px StarGAN networks (random weights: speed only) loaded once in a `stargan serve` process.

Photos: a 1024x768 JPEG with a 320 px face (a typical web photo) and a 4032x3024 JPEG with a 1000 px face
(a 12-megapixel phone photo). Each is sent once to warm up, then `--repeats` times; medians of the round
trip (what the page waits for: upload, decode, detect, translate, paste, encode as the command line
does, here JPEG at quality 95, download) and of the
server's own time (from the X-Stargan header).

    python benchmarks/serve_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from translate_speed import TARGETS, paper_model  # noqa: E402

from stargan_cli.data.readers.toyfaces import render, sample_face  # noqa: E402


def photo(path: Path, width: int, height: int, face: int) -> Path:
    rng = np.random.default_rng(0)
    canvas = rng.integers(60, 120, (height, width, 3), dtype=np.uint8)  # some texture for the encoders
    top, left = (height - face) // 2, (width - face) // 2
    canvas[top : top + face, left : left + face] = render(sample_face(0, 1, 5, "celeba"), face)
    Image.fromarray(canvas).save(path, quality=92)
    return path


def start(model: Path) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "stargan_cli", "serve", "--model", str(model), "--port", "0"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    for line in process.stdout:
        if "http://" in line:
            return process, "http://" + line.split("http://", 1)[1].split()[0]
    raise SystemExit("stargan serve did not start")


def send(url: str, data: bytes, name: str) -> tuple[float, float, int, str]:
    query = urllib.parse.urlencode({"to": TARGETS, "framing": "faces", "name": name})
    request = urllib.request.Request(f"{url}/api/translate?{query}", data=data, method="POST")
    start_time = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        meta = json.loads(response.headers["X-Stargan"])
        kind = response.headers["Content-Type"].split("/")[-1].upper()
    return time.perf_counter() - start_time, meta["seconds"], len(body), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = paper_model(root / "model")
        photos = [photo(root / "web.jpg", 1024, 768, 320), photo(root / "phone.jpg", 4032, 3024, 1000)]
        started = time.perf_counter()
        process, url = start(model)
        print(
            f"server up in {time.perf_counter() - started:.1f} s (Python start, imports, model load): {url}"
        )
        try:
            for path in photos:
                data = path.read_bytes()
                send(url, data, path.name)  # warm-up
                runs = [send(url, data, path.name) for _ in range(args.repeats)]
                trip = statistics.median(r[0] for r in runs)
                server = statistics.median(r[1] for r in runs)
                size = Image.open(path).size
                print(
                    f"{path.name} {size[0]}x{size[1]} ({len(data) / 1e6:.1f} MB JPEG -> {runs[0][2] / 1e6:.1f} MB {runs[0][3]}): "
                    f"round trip {trip:.3f} s, server {server:.3f} s "
                    f"(runs: {', '.join(f'{r[0]:.3f}' for r in runs)})"
                )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
