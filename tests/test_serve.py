"""`stargan serve`: the controls each label space gets, the translations (the same pixels as `stargan
translate`), the errors answered instead of crashes, and the page itself driven in headless Chromium.

The browser tests need Debian's chromium (`.ci/run` installs it) and playwright; without them they are
skipped, unless STARGAN_REQUIRE_BROWSER=1 (set by .ci/run) turns the skip into a failure."""

from __future__ import annotations

import http.client
import io
import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stargan_cli.config import load_recipe
from stargan_cli.data.readers.toyfaces import render, sample_face
from stargan_cli.errors import ImageError, LabelError
from stargan_cli.serve.service import MAX_PIXELS, ServedModel, Service, controls
from stargan_cli.train.loop import train

from .cli_helpers import invoke
from .method_helpers import two_domain_recipe
from .test_photos import png_claiming

CYCLEGAN = {"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}
CHROMIUM = os.environ.get("STARGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FACE_BOX = (55, 214, 122)  # the page's face-box colour, #37d67a


def face_photo() -> np.ndarray:
    """A 480x360 'photo': one rendered toy face (toyfaces seed 0, test face 5) at 200 px on grey."""
    canvas = np.full((360, 480, 3), 90, np.uint8)
    canvas[80:280, 140:340] = render(sample_face(0, 1, 5, "celeba"), 200)
    return canvas


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cyclegan_run(toy_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cyclegan")
    return train(load_recipe(two_domain_recipe(root, toy_dataset, "cyclegan", CYCLEGAN, steps=2))[0]).run_dir


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "face.png"
    Image.fromarray(face_photo()).save(path)
    return path


def cli_translation(photo: Path, model: Path, to: str, out: Path, *flags: str) -> np.ndarray:
    code, output = invoke("translate", photo, "--model", model, "--to", to, "--out", out, *flags)
    assert code == 0, output
    (written,) = out.iterdir()
    return np.asarray(Image.open(written).convert("RGB"))


# ----- controls and translations, in-process -------------------------------------------------------------
def test_controls_follow_the_label_space(trained_run, joint_run, cyclegan_run):
    (celeba,) = controls(ServedModel.load(trained_run).translator)
    assert celeba["dataset"] == "toy-celeba" and celeba["kind"] == "multi"
    hair, male, young = celeba["controls"]
    assert hair == {
        "kind": "choice",
        "label": "Hair",
        "options": [{"label": "keep", "to": ""}]
        + [{"label": a, "to": a} for a in ("Black_Hair", "Blond_Hair", "Brown_Hair")],
        "strength": True,
    }
    assert (male, young) == (
        {"kind": "slider", "label": "Male", "to": "Male"},
        {"kind": "slider", "label": "Young", "to": "Young"},
    )
    _, rafd = controls(ServedModel.load(joint_run).translator)
    (expression,) = rafd["controls"]
    assert rafd["kind"] == "single" and expression["label"] == "class" and expression["strength"] is False
    assert [o["to"] for o in expression["options"]][:2] == ["", "angry"]  # keep, then the classes
    (direction,) = controls(ServedModel.load(cyclegan_run).translator)[0]["controls"]
    assert direction["options"] == [
        {"label": "Black_Hair \u2192 Blond_Hair", "to": "Blond_Hair"},
        {"label": "Blond_Hair \u2192 Black_Hair", "to": "Black_Hair"},
    ]
    catalogue = Service([ServedModel.load(trained_run), ServedModel.load(cyclegan_run)]).catalogue()
    assert [(m["method"], m["step"]) for m in catalogue["models"]] == [("stargan", 6), ("cyclegan", 2)]


def test_a_translation_is_the_command_lines(trained_run, photo_file, tmp_path):
    service = Service([ServedModel.load(trained_run)])
    result = service.translate(photo_file.read_bytes(), "face.png", 0, "Blond_Hair,Male=0.25", "faces")
    served = np.asarray(Image.open(io.BytesIO(result.data)))
    expected = cli_translation(photo_file, trained_run, "blond,male=0.25", tmp_path / "cli")
    assert served.shape == (360, 480, 3) and np.array_equal(served, expected)
    assert not np.array_equal(served, face_photo())  # it did change something
    ((left, top, side),) = [(r.left, r.top, r.side) for r in result.regions]
    assert 140 <= left + side / 2 <= 340 and 180 <= side <= 300  # around the face, with the training framing
    crop = service.translate(photo_file.read_bytes(), "face.png", 0, "Young=0", "crop")
    expected = cli_translation(photo_file, trained_run, "young=0", tmp_path / "crop", "--no-detect")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(crop.data))), expected)
    assert (crop.width, crop.height) == (360, 360)  # the centre square
    jpeg = tmp_path / "face.jpg"
    Image.fromarray(face_photo()).save(jpeg, quality=90)
    result = service.translate(jpeg.read_bytes(), "face.jpg", 0, "Brown_Hair", "faces")
    cli_translation(jpeg, trained_run, "brown", tmp_path / "jpeg")
    assert result.format == "jpeg" and result.data == (tmp_path / "jpeg" / "face_brown.jpg").read_bytes()


def test_bad_requests_are_one_line_each(trained_run, photo_file):
    service = Service([ServedModel.load(trained_run)])
    good = photo_file.read_bytes()
    cases = [
        (b"", "blond", "faces", ImageError, "x.png is empty"),
        (b"not an image", "blond", "faces", ImageError, "x.png is not a readable image"),
        (
            png_claiming(8000, 6000),
            "blond",
            "faces",
            ImageError,
            "48 megapixels\\); this page takes photos up to 40",
        ),
        (
            png_bytes(np.full((120, 160, 3), 128, np.uint8)),
            "blond",
            "faces",
            ImageError,
            "no face found in x.png",
        ),
        (
            png_bytes(np.full((3, 40, 3), 128, np.uint8)),
            "blond",
            "native",
            ImageError,
            "x.png is 40x3: too small to translate whole",
        ),  # it was a 500 from inside a norm layer
        (good, "purple", "faces", LabelError, "unknown attribute 'purple'"),
        (good, "", "faces", LabelError, "set an attribute first"),
        (good, "blond", "sideways", LabelError, "framing 'sideways'"),
    ]
    for data, to, framing, error, message in cases:
        with pytest.raises(error, match=message):
            service.translate(data, "x.png", 0, to, framing)
    with pytest.raises(LabelError, match="no model 3"):
        service.translate(good, "x.png", 3, "blond", "faces")
    assert MAX_PIXELS == 40_000_000


# ----- the server and the page -------------------------------------------------------------------------
class Server:
    """`stargan serve` in its own process on 127.0.0.1, any free port."""

    def __init__(self, *models: Path, env: dict[str, str] | None = None) -> None:
        args = [sys.executable, "-m", "stargan_cli", "serve", "--port", "0"]
        for model in models:
            args += ["--model", str(model)]
        env = {**os.environ, "COLUMNS": "200", **(env or {})}
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.url = self._address(deadline=time.monotonic() + 120)

    def _address(self, deadline: float) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        seen = []
        while time.monotonic() < deadline:
            if not selector.select(timeout=1):
                continue
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "serving" in line and "http://" in line:
                return "http://" + line.split("http://", 1)[1].split()[0]
        self.stop()
        raise AssertionError("stargan serve did not start:\n" + "".join(seen))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def lines_within(self, seconds: float) -> list[str]:
        """What the server printed (its log) in the next `seconds`."""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        lines, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(timeout=left):
                line = self.process.stdout.readline()
                if not line:
                    break
                lines.append(line)
        return lines

    def declare_and_post(self, path: str, length: int) -> tuple[int, dict]:
        """A POST that declares `length` bytes and sends none: the answer must come from the headers alone."""
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.putrequest("POST", path)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        response = connection.getresponse()
        answer = response.status, json.loads(response.read())
        connection.close()
        return answer


@pytest.fixture(scope="module")
def server(trained_run, cyclegan_run):
    served = Server(trained_run, cyclegan_run)
    yield served
    served.stop()


def browser_or_skip():
    required = os.environ.get("STARGAN_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        if required:
            pytest.fail("no chromium: apt-get install chromium (or set STARGAN_CHROMIUM)")
        pytest.skip("no chromium: apt-get install chromium (or set STARGAN_CHROMIUM)")
    return sync_playwright


@pytest.fixture(scope="module")
def page(server):
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        tab.goto(server.url)
        tab.wait_for_selector("body[data-ready='1']")
        yield tab
        browser.close()


def set_range(page, selector: str, value: str) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }", value
    )


def set_blond_not_male(page) -> None:
    """The first model's controls: hair Blond_Hair at strength 0.75, Male set to 0."""
    page.select_option("#model", "0")
    page.select_option("#c0-0", "Blond_Hair")
    set_range(page, "#c0-0-strength", "0.75")
    page.check("#c0-1-on")
    set_range(page, "#c0-1", "0")


def downloaded(page, tmp_path: Path) -> tuple[str, np.ndarray]:
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    return path.name, np.asarray(Image.open(path).convert("RGB"))


def test_the_page_translates_as_the_command_line_does(page, photo_file, trained_run, cyclegan_run, tmp_path):
    options = page.locator("#model option").all_inner_texts()
    assert options == [f"{trained_run.name} (stargan)", f"{cyclegan_run.name} (cyclegan)"]
    assert page.inner_text("#model-info").startswith("stargan · step 6 · 16 px")
    page.set_input_files("#file", str(photo_file))
    set_blond_not_male(page)
    page.wait_for_selector("#result[data-to='Blond_Hair=0.75,Male=0']", timeout=60_000)
    name, served = downloaded(page, tmp_path)
    assert name == "face_Blond_Hair-0.75_Male-0.png"
    expected = cli_translation(photo_file, trained_run, "blond=0.75,male=0", tmp_path / "cli")
    assert np.array_equal(served, expected)  # pixel-exact: PNG both ways, the same code path
    assert page.inner_text("#command").endswith("--to Blond_Hair=0.75,Male=0")
    assert page.inner_text("#status").startswith("1 face · 480×360 · ")
    canvas = page.evaluate(
        "() => { const c = document.getElementById('input'); const d = c.getContext('2d');"
        " return [c.width, c.height, Array.from(d.getImageData(0, 0, c.width, c.height).data)]; }"
    )
    width, height, pixels = canvas
    drawn = np.array(pixels, np.uint8).reshape(height, width, 4)[..., :3]
    assert (width, height) == (480, 360)
    box = np.all(drawn == FACE_BOX, axis=-1)
    assert box.any() and not np.all(face_photo() == FACE_BOX, axis=-1).any()  # drawn, not in the photo
    rows, cols = np.nonzero(box)
    assert 140 <= (cols.min() + cols.max()) / 2 <= 340 and 180 <= cols.max() - cols.min() <= 300
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'page.png'}")


def test_bad_uploads_are_answered_in_the_page_and_the_server_goes_on(server, page, photo_file, tmp_path):
    set_blond_not_male(page)
    page.check("input[name=framing][value=faces]")
    bad = tmp_path / "notes.jpg"
    bad.write_text("a text file named .jpg\n")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert "notes.jpg is not a readable image" in page.inner_text("#error")
    assert page.locator("#download").is_hidden()
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(wall)
    page.set_input_files("#file", str(wall))
    page.wait_for_function("() => document.getElementById('error').textContent.includes('no face found')")
    page.screenshot(path=str(tmp_path / "error.png"), full_page=True)
    page.set_input_files(
        "#file", {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\0" * (26 * 2**20)}
    )
    page.wait_for_function("() => document.getElementById('error').textContent.includes('big.jpg is 26 MB')")
    assert "this page takes up to 25 MB" in page.inner_text("#error")
    status, answer = server.declare_and_post(
        "/api/translate?to=blond&name=big.jpg", 26 * 2**20
    )  # not the page
    assert status == 413 and answer["error"] == "big.jpg is 26 MB; this page takes up to 25 MB"
    dropped = page.evaluate_handle(  # still serving; this time the photo is dropped on the page
        "(bytes) => { const t = new DataTransfer();"
        " t.items.add(new File([new Uint8Array(bytes)], 'face.png', { type: 'image/png' })); return t; }",
        list(photo_file.read_bytes()),
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    page.wait_for_selector("#error", state="hidden", timeout=60_000)
    page.wait_for_selector("#result[data-to='Blond_Hair=0.75,Male=0']", timeout=60_000)
    assert server.process.poll() is None


def test_a_second_model_with_its_own_controls(page, photo_file, cyclegan_run, tmp_path):
    page.select_option("#model", "1")
    assert page.inner_text("#model-info").startswith("cyclegan · step 2 · 16 px")
    assert page.locator("#c0-0 option").all_inner_texts() == [
        "Black_Hair → Blond_Hair",
        "Blond_Hair → Black_Hair",
    ]
    page.check("input[name=framing][value=crop]")
    page.set_input_files("#file", str(photo_file))
    page.select_option("#c0-0", "Black_Hair")
    page.wait_for_selector("#result[data-to='Black_Hair']", timeout=60_000)
    _, served = downloaded(page, tmp_path)
    expected = cli_translation(photo_file, cyclegan_run, "black", tmp_path / "cli", "--no-detect")
    assert served.shape == (360, 360, 3) and np.array_equal(served, expected)
    assert page.inner_text("#command").endswith("--to Black_Hair --no-detect")


def test_the_command_refuses_what_it_cannot_serve(trained_run, tmp_path, monkeypatch):
    import socket

    from .cli_helpers import assert_one_line_error

    code, output = invoke("serve", "--model", tmp_path / "missing")
    assert_one_line_error(code, output, "missing")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        code, output = invoke("serve", "--model", trained_run, "--port", port)
        assert_one_line_error(code, output, f"cannot listen on 127.0.0.1:{port} .*; pass another --port")
    finally:
        taken.close()
    for port in (70000, -1):
        code, output = invoke("serve", "--model", trained_run, "--port", port)
        assert_one_line_error(code, output, f"--port {port} is not a port number; choose one from 1 to 65535")
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the serve extra were not installed
    code, output = invoke("serve", "--model", trained_run)
    assert_one_line_error(code, output, 'stargan serve needs its extra: pip install "stargan\\[serve\\]"')


def test_a_client_gone_mid_upload_costs_no_traceback(server):
    """The page's tab closed while a photo was uploading: the server logs no traceback and goes on."""
    import socket
    import urllib.request

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        client.sendall(b"POST /api/translate?to=blond&name=x.png HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 1000000\r\n\r\n" + b"\x89PNG" * 250)  # fmt: skip
        time.sleep(0.2)
    printed = "".join(server.lines_within(2.0))
    assert "Traceback" not in printed and "Exception" not in printed, printed
    with urllib.request.urlopen(server.url + "/api/models", timeout=30) as answer:
        assert answer.status == 200 and len(json.loads(answer.read())["models"]) == 2
