"""Readers of real dataset formats, on fixtures built in the exact shipped layouts."""

import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stargan_cli.data.readers.celeba import TEST_SIZES, prepare_celeba, reference_order
from stargan_cli.data.readers.folder import prepare_folder
from stargan_cli.data.readers.rafd import EXPRESSIONS, parse_name, prepare_rafd
from stargan_cli.errors import DatasetError

from .realdata import CELEBA_NAMES, attribute_text, celeba_values, make_celeba, portrait, rafd_name

PAPER = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]


def test_default_split_is_the_reference_implementations(tmp_path):
    """The reference: lines[2:] of the file, random.seed(1234), random.shuffle, the first 1,999 are test."""
    files = [f"{i + 1:06d}.jpg" for i in range(2100)]
    text = attribute_text(files, [[1] * 40] * 2100)
    (tmp_path / "attrs.txt").write_text(text)
    lines = [line.rstrip() for line in open(tmp_path / "attrs.txt")][2:]
    random.seed(1234)
    random.shuffle(lines)
    expected_test = [line.split()[0] for i, line in enumerate(lines) if (i + 1) < 2000]
    ours = reference_order([(f, None) for f in files])
    assert [f for f, _ in ours[: TEST_SIZES["reference"]]] == expected_test
    assert len(expected_test) == 1999 and TEST_SIZES["clean"] == 2000


@pytest.mark.parametrize(("as_zip", "crlf", "layout"), [(False, False, "flat"), (True, True, "official")])
def test_celeba_download_is_prepared(tmp_path, as_zip, crlf, layout):
    source = make_celeba(tmp_path / "celeba", 12, as_zip=as_zip, crlf=crlf, layout=layout)
    ds = prepare_celeba(str(source), str(tmp_path / "out"), None, 32, test_size=3)
    assert ds.labels.attributes == tuple(PAPER)
    assert ds.labels.exclusive == (("Black_Hair", "Blond_Hair", "Brown_Hair"),)
    assert ds.split_sizes == {"train": 9, "test": 3}
    order = reference_order([f"{i + 1:06d}.jpg" for i in range(12)])
    files = [f.split("/")[-1] for f in ds.files("test") + ds.files("train")]
    assert files == order
    for split in ("train", "test"):
        for row, name in enumerate(ds.files(split)):
            index = int(name.split("/")[-1][:6]) - 1
            expected = [float(celeba_values(index)[CELEBA_NAMES.index(a)] == 1) for a in PAPER]
            assert ds.split(split).labels[row].tolist() == expected
            image = ds.split(split).images[row].astype(int)  # the 178 crop drops the red and blue bands
            assert (
                abs(image[..., 1].mean() - 180) < 6 and image[..., 0].min() > 20 and image[..., 2].max() < 100
            )
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["preprocessing"]["crop"] == "center 178" and manifest["image_size"] == 32


def test_celeba_attributes_are_selectable_with_did_you_mean(tmp_path):
    source = make_celeba(tmp_path / "celeba", 6)
    ds = prepare_celeba(
        str(source), str(tmp_path / "out"), ["Smiling", "Gray_Hair", "Black_Hair"], 16, test_size=2
    )
    assert ds.labels.attributes == ("Smiling", "Gray_Hair", "Black_Hair")
    assert ds.labels.exclusive == (("Gray_Hair", "Black_Hair"),)
    with pytest.raises(DatasetError, match="no attribute 'Blonde_Hair'. Did you mean Blond_Hair"):
        prepare_celeba(str(source), str(tmp_path / "x"), ["Blonde_Hair"], 16, test_size=2)
    assert not (tmp_path / "x").exists()


def test_celeba_bad_files_are_counted_and_converted(tmp_path):
    source = make_celeba(tmp_path / "celeba", 10)
    folder = source / "img_align_celeba"
    (folder / "000002.jpg").unlink()  # a row naming a missing image
    data = (folder / "000003.jpg").read_bytes()
    (folder / "000003.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    (folder / "000004.jpg").write_bytes(b"<html>not found</html>")  # not an image
    Image.open(folder / "000005.jpg").convert("L").save(folder / "000005.jpg")
    Image.open(folder / "000006.jpg").convert("CMYK").save(folder / "000006.jpg")
    rgba = Image.open(folder / "000007.jpg").convert("RGBA")
    rgba.save(folder / "000007.png")
    (folder / "000007.png").rename(folder / "000007.jpg")  # a PNG with alpha under a .jpg name
    ds = prepare_celeba(str(source), str(tmp_path / "out"), None, 16, test_size=2)
    manifest = ds.manifest
    assert manifest["skipped"] == {
        "missing file": 1,
        "unreadable (truncated or corrupt)": 1,
        "not an image": 1,
    }
    assert sorted(e[0].split("/")[-1] for e in manifest["skipped_examples"]) == [
        "000002.jpg",
        "000003.jpg",
        "000004.jpg",
    ]
    assert manifest["converted"] == {
        "converted from L": 1,
        "converted from CMYK": 1,
        "converted from RGBA": 1,
    }
    assert sum(ds.split_sizes.values()) == 7


def test_celeba_attribute_file_problems(tmp_path):
    empty = tmp_path / "empty"
    (empty / "img_align_celeba").mkdir(parents=True)
    with pytest.raises(DatasetError, match="list_attr_celeba.txt not found under"):
        prepare_celeba(str(empty), str(tmp_path / "out"))
    wrong_count = make_celeba(tmp_path / "c1", 5, count_line=202599)
    with pytest.raises(DatasetError, match="line 1 says 202599 images but the file has 5 rows"):
        prepare_celeba(str(wrong_count), str(tmp_path / "out"), test_size=1)
    short_row = make_celeba(tmp_path / "c2", 5)
    path = short_row / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[4] = " ".join(lines[4].split()[:-1])  # 000003.jpg loses its last value
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="line 5: 39 values for 40 attributes"):
        prepare_celeba(str(short_row), str(tmp_path / "out"), test_size=1)
    assert not (tmp_path / "out").exists()


def make_rafd_raw(root, persons=10, angles=("090", "045")):
    root.mkdir(parents=True)
    for p in range(1, persons + 1):
        for e, expression in enumerate(EXPRESSIONS):
            for angle in angles:
                portrait(p * 100 + e).save(
                    root / rafd_name(angle, p, expression, "male" if p % 2 else "female")
                )
    return root


def test_rafd_raw_names_split_by_person(tmp_path):
    assert parse_name(tmp_path / "Rafd090_01_Caucasian_female_angry_frontal.jpg") == {
        "angle": "090",
        "person": "01",
        "ethnicity": "Caucasian",
        "gender": "female",
        "expression": "angry",
        "gaze": "frontal",
    }
    source = make_rafd_raw(tmp_path / "RaFD")
    ds = prepare_rafd(str(source), str(tmp_path / "out"), size=16)
    assert ds.labels.attributes == EXPRESSIONS and ds.labels.kind == "single"
    assert ds.split_sizes == {"train": 72, "test": 8}  # 10 persons x 8 expressions at 090; 1 person held out
    persons = {split: {parse_name(Path(f))["person"] for f in ds.files(split)} for split in ("train", "test")}
    assert not persons["train"] & persons["test"] and len(persons["test"]) == 1
    assert all("Rafd090" in f for f in ds.files("train"))
    for row, f in enumerate(ds.files("train")):
        assert EXPRESSIONS[int(ds.split("train").labels[row].argmax())] == parse_name(Path(f))["expression"]
    both = prepare_rafd(str(source), str(tmp_path / "out2"), size=16, angles=("045", "090"))
    assert sum(both.split_sizes.values()) == 160


def test_rafd_reference_folders_and_the_parent_folder_mistake(tmp_path):
    root = tmp_path / "RaFD"
    for split, persons in (("train", range(1, 5)), ("test", range(5, 6))):
        for expression in EXPRESSIONS:
            folder = root / split / expression
            folder.mkdir(parents=True)
            for p in persons:
                portrait(p).resize((256, 256)).save(folder / rafd_name("090", p, expression))
    # the parent folder: train/ and test/ are recognised as splits, not as two classes
    ds = prepare_rafd(str(root), str(tmp_path / "out"), size=16)
    assert ds.labels.attributes == EXPRESSIONS and ds.split_sizes == {"train": 32, "test": 8}
    assert ds.manifest["preprocessing"]["layout"] == "reference folders train + test"
    # the train folder itself (what the reference is given): expression folders, split by person
    ds = prepare_rafd(str(root / "train"), str(tmp_path / "out2"), size=16)
    assert ds.split_sizes == {"train": 24, "test": 8}
    (root / "train" / "smiling").mkdir()
    portrait(0).save(root / "train" / "smiling" / "x.jpg")
    with pytest.raises(DatasetError, match="folders \\['smiling'\\], which are not RaFD expressions"):
        prepare_rafd(str(root / "train"), str(tmp_path / "out3"), size=16)
    with pytest.raises(DatasetError, match="no RaFD images found"):
        prepare_rafd(str(tmp_path / "out"), str(tmp_path / "out4"), size=16)


def test_folder_of_domains_with_split_folders(tmp_path):
    root = tmp_path / "afhq"
    for split, n in (("train", 5), ("val", 2)):
        for animal in ("cat", "dog", "wild"):
            (root / split / animal).mkdir(parents=True)
            for i in range(n):
                portrait(i, (40, 30)).save(root / split / animal / f"{animal}{i}.png")
    ds = prepare_folder(str(root), str(tmp_path / "out"), size=16)
    assert ds.labels.attributes == ("cat", "dog", "wild") and ds.labels.name == "afhq"
    assert ds.split_sizes == {"train": 15, "test": 6}
    assert ds.split("test").labels.sum(0).tolist() == [2, 2, 2]


def test_flat_folder_holds_out_per_class_and_refuses_images_in_split_folders(tmp_path):
    root = tmp_path / "pets"
    for animal in ("cat", "dog"):
        (root / animal).mkdir(parents=True)
        for i in range(10):
            portrait(i).save(root / animal / f"{i}.jpg")
    ds = prepare_folder(str(root), str(tmp_path / "out"), size=16, test_fraction=0.2)
    assert ds.split_sizes == {"train": 16, "test": 4} and ds.split("test").labels.sum(0).tolist() == [2, 2]
    bad = tmp_path / "bad"
    (bad / "train").mkdir(parents=True)
    portrait(0).save(bad / "train" / "a.jpg")
    with pytest.raises(DatasetError, match="holds images directly, but train/ and test/ are split folders"):
        prepare_folder(str(bad), str(tmp_path / "out2"), size=16)


def test_folder_with_a_csv_of_attributes(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    rows = ["file,smiling,glasses"]
    for i in range(10):
        portrait(i).save(root / f"{i}.jpg")
        rows.append(f"{i}.jpg,{1 if i % 2 else -1},{'true' if i < 3 else 'false'}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    ds = prepare_folder(str(root), str(tmp_path / "out"), size=16, labels_csv=str(root / "labels.csv"))
    assert ds.labels.attributes == ("smiling", "glasses") and ds.labels.kind == "multi"
    labels = {
        f.split("/")[-1]: ds.split(s).labels[i].tolist()
        for s in ("train", "test")
        for i, f in enumerate(ds.files(s))
    }
    assert labels["3.jpg"] == [1, 0] and labels["2.jpg"] == [0, 1] and len(labels) == 10
    (root / "labels.csv").write_text("file,smiling\n0.jpg,maybe\n")
    with pytest.raises(DatasetError, match="'maybe' is not 0/1"):
        prepare_folder(str(root), str(tmp_path / "out2"), size=16, labels_csv=str(root / "labels.csv"))


def test_celeba_zip_members_are_read_in_parallel(tmp_path):
    """More items than the in-process threshold: the pool path, with the zip opened once per process."""
    source = make_celeba(tmp_path / "celeba", 300, as_zip=True)
    ds = prepare_celeba(str(source), str(tmp_path / "out"), None, 16, test_size=20, workers=2)
    assert ds.split_sizes == {"train": 280, "test": 20}
    assert zipfile.ZipFile(source / "img_align_celeba.zip").namelist()[0] == "img_align_celeba/000001.jpg"
    assert np.asarray(ds.split("train").images).std() > 0


def test_celeba_zip_reads_stay_right_when_a_small_split_ran_in_process_first(tmp_path):
    """A train split under the in-process threshold opens the zip in the main process; the large test split
    then runs in worker processes, which must not read through that inherited handle (a shared file offset:
    issue 26 saw 38-403 good images lost at random)."""
    source = make_celeba(tmp_path / "celeba", 700, as_zip=True)
    ds = prepare_celeba(str(source), str(tmp_path / "out"), ["Male"], size=16, test_size=500, workers=2)
    assert ds.split_sizes == {"train": 200, "test": 500} and not ds.manifest["skipped"]


def test_tiny_images_are_skipped_and_small_ones_reported(tmp_path):
    """An icon is not silently blown up into a flat colour: under a quarter of the size it is skipped, under
    the size it is counted as upscaled."""
    root = tmp_path / "pets"
    for name, side in (("cat", 40), ("dog", 3)):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (side, side), (30 * i, 90, 200)).save(root / name / f"{i}.png")
    Image.new("RGB", (24, 24), (5, 5, 5)).save(root / "cat" / "small.png")
    Image.new("RGB", (40, 40), (5, 5, 5)).save(root / "dog" / "ok.png")
    ds = prepare_folder(str(root), str(tmp_path / "out"), size=32, test_fraction=0.0, workers=1)
    assert ds.manifest["skipped"] == {"too small (under a quarter of 32 px)": 6}
    assert ds.manifest["converted"] == {"upscaled (smaller than 32 px)": 1}
    assert ds.split_sizes["train"] == 8


def test_a_file_listed_twice_is_used_once(tmp_path):
    source = make_celeba(tmp_path / "celeba", 12)
    attr = source / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    lines[0] = str(int(lines[0]) + 1)
    attr.write_text("\n".join(lines + [lines[2]]) + "\n")  # the first image's line again at the end
    ds = prepare_celeba(str(source), str(tmp_path / "out"), None, 16, test_size=3, workers=1)
    files = ds.files("train") + ds.files("test")
    assert len(files) == len(set(files)) == 12
