"""Faces in photos: framing, cutting, paste-back, detection, inputs and outputs of `stargan translate`."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from stargan_cli.data.readers.toyfaces import render, sample_face
from stargan_cli.errors import ImageError
from stargan_cli.faces import FaceDetector, Region, colour_matched_change, cut, feather_mask, paste
from stargan_cli.images import to_tensor, to_uint8
from stargan_cli.photos import collect_inputs, output_path, read_photo

from .cli_helpers import assert_one_line_error, invoke


# ----- geometry and paste-back ------------------------------------------------------------------------
def test_region_follows_the_celeba_framing():
    assert Region.around(100, 100, 50, 50) == Region(left=75, top=70, side=100)  # 2 w, 0.1 w above centre
    assert Region.centre(480, 640) == Region(left=80, top=0, side=480)


def test_cut_repeats_edge_pixels_outside_the_photo():
    photo = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    square = cut(photo, Region(left=-1, top=2, side=3), 3)
    assert square.shape == (3, 3, 3)
    np.testing.assert_array_equal(square[0], photo[2, [0, 0, 1]])  # column -1 repeats column 0
    np.testing.assert_array_equal(square[2], photo[3, [0, 0, 1]])  # row 4 repeats row 3


def test_feather_mask_is_one_inside_and_fades_to_the_edges():
    mask = feather_mask(20, 0.2)  # ramp over 4 pixels
    assert mask.shape == (20, 20) and mask[4:16, 4:16].min() == 1.0
    assert mask[0, 10] == pytest.approx(0.5 - 0.5 * np.cos(np.pi * 0.5 / 4))
    assert np.all(np.diff(mask[10, :5]) > 0) and mask[0, 0] == mask[0, 10]


def test_paste_of_no_change_or_a_colour_cast_leaves_the_photo_as_it_was():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    region = Region(10, 5, 40)
    before = cut(photo, region, 16)
    assert np.array_equal(paste(photo.copy(), region, before, before), photo)
    cast = np.clip(before.astype(int) + [12, -7, 3], 0, 255).astype(np.uint8)
    clipped = (cast.astype(int) - before != [12, -7, 3]).any(-1)
    assert clipped.mean() < 0.2  # the median ignores the clipped pixels
    assert np.abs(paste(photo.copy(), region, before, cast).astype(int) - photo).max() <= 1


def test_paste_adds_the_change_inside_and_nothing_outside():
    photo = np.full((50, 50, 3), 100, np.uint8)
    region = Region(5, 10, 20)
    before = cut(photo, region, 20)
    after = before.copy()
    after[8:12, 8:12] = [160, 100, 40]  # an edit in the middle of the square
    result = paste(photo.copy(), region, before, after)
    np.testing.assert_array_equal(result[18:22, 13:17], np.broadcast_to([160, 100, 40], (4, 4, 3)))
    outside = np.ones((50, 50), bool)
    outside[10:30, 5:25] = False
    assert np.array_equal(result[outside], photo[outside])
    assert np.array_equal(colour_matched_change(before, after)[0, 0], [0, 0, 0])


def test_paste_in_bands_equals_the_whole_square_scaled_at_once(monkeypatch):
    """The change is scaled up a band of rows at a time (bounded memory); the result must be the whole
    square's bicubic upscale, feathered and added, also for a square reaching past the photo's edges."""
    import stargan_cli.faces as faces

    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    region = Region(-7, 30, 57)  # past the left and bottom edges
    before = cut(photo, region, 16)
    after = np.clip(before.astype(int) + rng.integers(-40, 40, before.shape), 0, 255).astype(np.uint8)
    change = colour_matched_change(before, after)
    whole = (
        np.stack(
            [
                np.asarray(Image.fromarray(change[..., c]).resize((57, 57), Image.Resampling.BICUBIC))
                for c in range(3)
            ],
            axis=-1,
        )
        * feather_mask(57)[..., None]
    )
    expected = photo.copy()
    inside = expected[30:70, 0:50]
    inside[...] = np.clip(inside + whole[:40, 7:57], 0, 255).round().astype(np.uint8)
    monkeypatch.setattr(faces, "PASTE_ROWS", 9)  # five bands over the 40 rows inside the photo
    banded = paste(photo.copy(), region, before, after)
    np.testing.assert_array_equal(banded, expected)
    assert not np.array_equal(banded, photo)


# ----- detection ---------------------------------------------------------------------------------------
def two_face_photo() -> np.ndarray:
    """A 640x400 'photo' with two rendered faces (toyfaces seed 0, test faces 5 and 6) on grey."""
    canvas = np.full((400, 640, 3), 90, np.uint8)
    canvas[100:300, 40:240] = render(sample_face(0, 1, 5, "celeba"), 200)
    canvas[100:300, 400:600] = render(sample_face(0, 1, 6, "celeba"), 200)
    return canvas


def test_detector_finds_both_faces_left_to_right():
    regions = FaceDetector()(two_face_photo())
    assert len(regions) == 2
    left, right = regions
    assert 40 <= left.left + left.side / 2 <= 240 and 400 <= right.left + right.side / 2 <= 600
    assert 180 <= left.side <= 300 and 180 <= right.side <= 300
    assert FaceDetector()(np.full((300, 300, 3), 128, np.uint8)) == []


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "photos" / "pair.png"
    path.parent.mkdir()
    Image.fromarray(two_face_photo()).save(path)
    return path


def test_translate_a_photo_pastes_every_face_back(trained_run, photo_file, tmp_path):
    out = tmp_path / "out"
    code, output = invoke("translate", photo_file, "--model", trained_run, "--to", "blond", "--out", out)
    assert code == 0, output
    result = np.asarray(Image.open(out / "pair_blond.png"))
    photo = two_face_photo()
    assert result.shape == photo.shape
    changed = (result != photo).any(-1)
    assert changed[:, :320].any() and changed[:, 320:].any()  # both faces
    assert not changed[:40].any() and not changed[:, 630:].any()  # outside the squares: untouched
    code, output = invoke(
        "translate", photo_file, "--model", trained_run, "--to", "blond", "--face", 2, "--out", out / "second"
    )
    assert code == 0, output
    changed = (np.asarray(Image.open(out / "second" / "pair_blond.png")) != photo).any(-1)
    assert changed[:, 320:].any() and not changed[:, :320].any()
    code, output = invoke("translate", photo_file, "--model", trained_run, "--to", "blond", "--face", 3)
    assert_one_line_error(code, output, "has 2 face\\(s\\) found; --face 3")


def test_no_face_is_an_error_unless_no_detect(trained_run, tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(path)
    code, output = invoke("translate", path, "--model", trained_run, "--to", "blond")
    assert_one_line_error(code, output, "no face found in .*wall.png; pass --no-detect")
    code, output = invoke("translate", path, "--no-detect", "--model", trained_run, "--to", "blond")
    assert code == 0, output
    assert Image.open(tmp_path / "wall_blond.png").size == (120, 120)  # the centre square


def test_no_detect_on_a_model_size_crop_is_exactly_the_generator(trained_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.translate import LoadedModel

    face = PreparedDataset(toy_dataset).split("test").images[0]
    Image.fromarray(face).save(tmp_path / "face.png")
    code, output = invoke(
        "translate", tmp_path / "face.png", "--no-detect", "--model", trained_run, "--to", "blond,male=0"
    )
    assert code == 0, output
    translator = LoadedModel.load(trained_run)
    targets = translator.label_space.parse_targets("blond,male=0")
    expected = to_uint8(translator.apply(to_tensor(face[None]), targets, {}))[0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "face_blond_male-0.png")), expected)


# ----- inputs and outputs ------------------------------------------------------------------------------
def test_folders_mirror_under_out_and_list_files(tmp_path):
    root = tmp_path / "in"
    for name in ("a.jpg", "sub/b.png", "sub/deeper/c.JPG", "notes.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    items = collect_inputs([str(root)])
    assert [str(i.relative) for i in items] == ["a.jpg", "sub/b.png", "sub/deeper/c.JPG"]
    assert [i.path.name for i in collect_inputs([str(root)], "*.jpg")] == ["a.jpg"]  # the pattern's case
    out = output_path(items[2], str(tmp_path / "out"), "blond")
    assert out == tmp_path / "out" / "sub" / "deeper" / "c_blond.jpg"
    assert output_path(items[1], None, "blond", "webp") == root / "sub" / "b_blond.webp"
    listing = tmp_path / "in" / "list.txt"
    listing.write_text("# faces to do\nsub/b.png\n\na.jpg  # the first\n")
    assert [str(i.relative) for i in collect_inputs([str(listing)])] == ["sub/b.png", "a.jpg"]
    listing.write_text("gone.png\n")
    with pytest.raises(ImageError, match="list.txt, line 1: .*gone.png not found"):
        collect_inputs([str(listing)])


def test_read_photo_orients_and_converts_every_mode(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :10] = [255, 0, 0]  # red on the left
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    upright = read_photo(tmp_path / "rotated.jpg")
    assert upright.shape == (30, 20, 3) and upright[2, 10, 0] > 200 and upright[-2, 10, 0] < 60  # red on top
    Image.fromarray(np.full((4, 6), 200, np.uint8)).save(tmp_path / "gray.png")
    Image.fromarray(np.full((4, 6), 65535, np.uint16)).save(tmp_path / "deep.png")
    Image.new("RGBA", (6, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("CMYK", (6, 4), (0, 0, 0, 0)).save(tmp_path / "print.jpg")
    expected = {"gray.png": 200, "deep.png": 255, "clear.png": 255, "print.jpg": 255}  # transparent on white
    for name, value in expected.items():
        array = read_photo(tmp_path / name)
        assert array.shape == (4, 6, 3) and array.dtype == np.uint8
        assert np.abs(array.astype(int) - value).max() <= 1, name


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims width x height: a decompression bomb in miniature."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data[12:29]  # type + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def test_bad_images_are_refused_and_the_others_written(trained_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset

    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(PreparedDataset(toy_dataset).split("test").images[0]).save(folder / "good.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "bomb.png").write_bytes(png_claiming(12_000, 10_000))  # above our 100 MP guard
    (folder / "huge.png").write_bytes(png_claiming(40_000, 40_000))  # above Pillow's own
    code, output = invoke(
        "translate", folder / "bomb.png", "--no-detect", "--model", trained_run, "--to", "blond"
    )
    assert_one_line_error(
        code, output, "bomb.png is 12000x10000 \\(120 megapixels\\), above the 100-megapixel guard"
    )
    code, output = invoke(
        "translate", folder / "huge.png", "--no-detect", "--model", trained_run, "--to", "blond"
    )
    assert_one_line_error(
        code, output, "huge.png is too large to decode safely \\(Image size \\(1600000000 pixels\\)"
    )
    code, output = invoke("translate", folder, "--no-detect", "--model", trained_run, "--to", "blond")
    assert code == 1 and "Traceback" not in output
    assert "broken.jpg is not a readable image" in output and "bomb.png is 12000x10000" in output
    assert "3 of 4 inputs skipped" in output
    assert (folder / "good_blond.png").is_file() and not (folder / "broken_blond.jpg").exists()
    assert (folder / "broken.jpg").read_bytes() == b"\xff\xd8\xff\xe0 truncated"


def test_translate_batches_equal_one_at_a_time(trained_run, toy_dataset, tmp_path):
    from stargan_cli.data.prepared import PreparedDataset

    folder = tmp_path / "crops"
    folder.mkdir()
    for i, image in enumerate(PreparedDataset(toy_dataset).split("test").images[:5]):
        Image.fromarray(image).save(folder / f"{i}.png")
    outputs = {}
    for batch in (1, 4):
        out = tmp_path / f"out{batch}"
        code, output = invoke(
            "translate", folder, "--no-detect", "--model", trained_run, "--to", "young=0.5",
            "--from", "black", "--batch-size", batch, "--out", out, "--format", "webp",
        )  # fmt: skip
        assert code == 0, output
        outputs[batch] = {p.name: np.asarray(Image.open(p)) for p in sorted(out.iterdir())}
    assert sorted(outputs[1]) == [f"{i}_young-0.5.webp" for i in range(5)]
    for name, image in outputs[1].items():
        assert np.abs(image.astype(int) - outputs[4][name]).max() <= 2  # WebP at quality 95, same input
    code, output = invoke(
        "translate", folder, "--no-detect", "--model", trained_run, "--to", "blond", "--format", "gif"
    )
    assert_one_line_error(code, output, "--format gif: choose one of png, jpg, webp")


def test_fractional_targets_interpolate_the_label(trained_run):
    from stargan_cli.translate import LoadedModel, parse_source

    translator = LoadedModel.load(trained_run)
    seen = []
    original = translator.model.generator.forward
    translator.model.generator.forward = lambda x, c: (seen.append(c.clone()), original(x, c))[1]
    given = parse_source(translator.label_space, "black,male")
    translator.apply(
        torch.zeros(1, 3, 16, 16), translator.label_space.parse_targets("male=0,young=0.5"), given
    )
    assert seen[0].tolist() == [[1, 0, 0, 0, 0.5]]
