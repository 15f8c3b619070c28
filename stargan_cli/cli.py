"""The `stargan` command line: parse, call one library function, print the result.

Library modules are imported inside the commands so `stargan --help` stays fast. A `StarganError` (a
user mistake) is printed as one red line with a non-zero exit; anything else keeps its traceback.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from .console import error, stdout
from .errors import StarganError

DEFAULT_ATTRIBUTES = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"  # the released CelebA StarGANs' labels

app = typer.Typer(
    name="stargan",
    help="Multi-domain image-to-image translation: prepare datasets, train StarGAN and the two-domain methods, "
    "translate, evaluate, compare, export, serve.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
prepare_app = typer.Typer(
    help="Turn raw datasets into prepared datasets that training reads fast.", no_args_is_help=True
)
app.add_typer(prepare_app, name="prepare")


def _version(value: bool) -> None:
    if value:
        from .version import __version__

        stdout.print(f"stargan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Multi-domain image-to-image translation: prepare datasets, train StarGAN and the two-domain methods,
    translate, evaluate, compare, export, serve."""


def friendly(func):
    """Run a command; user mistakes become one red line and exit code 1 (130 after Ctrl-C)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StarganError as exc:
            error(str(exc))
            code = 130 if exc.__class__.__name__ == "TrainingInterrupted" else getattr(exc, "exit_code", 1)
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(130) from None

    return wrapper


@prepare_app.command("toyfaces", epilog="Example: stargan prepare toyfaces --out data/toyfaces")
@friendly
def prepare_toyfaces(
    out: Annotated[Path, typer.Option(help="Directory of the prepared dataset.")] = Path("data/toyfaces"),
    style: Annotated[
        str, typer.Option(help="celeba (hair colours, male, young) or rafd (8 expressions).")
    ] = "celeba",
    size: Annotated[int, typer.Option(help="Image size in pixels.")] = 32,
    train: Annotated[int, typer.Option(help="Training images.")] = 8000,
    test: Annotated[int, typer.Option(help="Test images.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the renderer.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a dataset already at --out.")] = False,
) -> None:
    """Render the built-in synthetic face dataset (no download needed)."""
    from .config import did_you_mean
    from .data.readers.toyfaces import STYLES
    from .data.readers.toyfaces import prepare_toyfaces as run
    from .errors import ConfigError

    if style not in STYLES:
        raise ConfigError(f"unknown style {style!r}.{did_you_mean(style, STYLES)}")
    if size < 8 or train < 1 or test < 0:
        raise ConfigError("--size must be at least 8, --train at least 1 and --test at least 0")
    run(str(out), style, size, train, test, seed, overwrite)


RAW = Path("data/raw")  # where prepare looks for a download when --source is not given
DOWNLOADS = {
    "celeba": (
        "CelebA needs img_align_celeba.zip (or the unpacked img_align_celeba/) and list_attr_celeba.txt, "
        "distributed by the dataset's owners at https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
        "(In-The-Wild Images: Img/img_align_celeba.zip; Anno/list_attr_celeba.txt)"
    ),
    "rafd": (
        "RaFD needs the Radboud Faces Database photos (e.g. Rafd090_01_Caucasian_female_angry_frontal.jpg), "
        "distributed by its owners on request for research at https://rafd.socsci.ru.nl"
    ),
}


def _raw_source(name: str, source: Path | None) -> Path:
    """--source, else data/raw/<name> when it is there, else a message saying what to download and where."""
    from .console import info
    from .errors import MissingInput

    if source is not None:
        return source
    conventional = RAW / name
    if conventional.exists():
        info(f"no --source: reading {conventional}")
        return conventional
    raise MissingInput(
        f"no --source given and nothing at {conventional}. {DOWNLOADS[name]}. Put the files in {conventional}/ "
        f"and run `stargan prepare {name}`, or run `stargan prepare {name} --source DIR` where they are"
    )


def _workers(value: int | None) -> int | None:
    return value if value and value > 0 else None


@prepare_app.command(
    "celeba",
    epilog="Example: stargan prepare celeba --source ~/data/celeba --out data/celeba "
    "--attrs Black_Hair,Blond_Hair,Brown_Hair,Male,Young",
)
@friendly
def prepare_celeba(
    source: Annotated[
        Path | None,
        typer.Option(
            help="The download: img_align_celeba/ (or .zip) + list_attr_celeba.txt (default: data/raw/celeba)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory of the prepared dataset.")] = Path("data/celeba"),
    attrs: Annotated[str, typer.Option(help="Comma-separated attributes (default: the paper's five).")] = (
        "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"
    ),
    size: Annotated[int, typer.Option(help="Image size after the 178 px centre crop (128 or 256).")] = 128,
    split: Annotated[
        str, typer.Option(help="reference (1,999 test images, as the reference) or clean (2,000).")
    ] = ("reference"),
    test_size: Annotated[int | None, typer.Option(help="Test images (overrides --split).")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a dataset already at --out.")] = False,
) -> None:
    """CelebA as downloaded: attribute file + aligned images, the reference's split and crop."""
    from .config import did_you_mean
    from .data.readers.celeba import TEST_SIZES
    from .data.readers.celeba import prepare_celeba as run
    from .errors import ConfigError

    if split not in TEST_SIZES:
        raise ConfigError(f"unknown --split {split!r}.{did_you_mean(split, TEST_SIZES)}")
    names = [a.strip() for a in attrs.split(",") if a.strip()]
    source = _raw_source("celeba", source)
    run(str(source), str(out), names, size, split, test_size, overwrite, _workers(workers))


@prepare_app.command("rafd", epilog="Example: stargan prepare rafd --source ~/data/RaFD --out data/rafd")
@friendly
def prepare_rafd(
    source: Annotated[
        Path | None,
        typer.Option(
            help="Folder of RaFD photos, raw names or one folder per expression (default: data/raw/rafd)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory of the prepared dataset.")] = Path("data/rafd"),
    size: Annotated[int, typer.Option(help="Image size.")] = 128,
    angles: Annotated[
        str, typer.Option(help="Camera angles to keep from raw names, e.g. 090 or 045,090,135.")
    ] = "090",
    test_fraction: Annotated[float, typer.Option(help="Fraction of the persons held out for test.")] = 0.1,
    crop_center: Annotated[
        float, typer.Option(help="Vertical centre of the square crop, as a fraction.")
    ] = 0.42,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a dataset already at --out.")] = False,
) -> None:
    """RaFD: 8 expressions, split by person, square face crop."""
    from .data.readers.rafd import prepare_rafd as run

    chosen = tuple(a.strip().zfill(3) for a in angles.split(",") if a.strip())
    source = _raw_source("rafd", source)
    run(str(source), str(out), size, chosen, test_fraction, seed, crop_center, overwrite, _workers(workers))


@prepare_app.command(
    "folder",
    epilog="Examples:\n\n  stargan prepare folder --source ~/data/afhq --out data/afhq\n\n"
    "  stargan prepare folder --source photos/ --labels photos/labels.csv --out data/mine",
)
@friendly
def prepare_folder(
    source: Annotated[
        Path, typer.Option(help="One sub-folder per domain (or train/ and test/ split folders).")
    ],
    out: Annotated[Path, typer.Option(help="Directory of the prepared dataset.")],
    labels: Annotated[
        Path | None, typer.Option(help="CSV `file,attr1,attr2,...` of 0/1 values (multi-label).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the folder's name).")] = None,
    size: Annotated[int, typer.Option(help="Image size.")] = 128,
    test_fraction: Annotated[
        float, typer.Option(help="Fraction held out for test without split folders.")
    ] = 0.1,
    crop_center: Annotated[
        float, typer.Option(help="Vertical centre of the square crop, as a fraction.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a dataset already at --out.")] = False,
) -> None:
    """Any labelled folder of images: domains as sub-folders, or a CSV of attributes."""
    from .data.readers.folder import prepare_folder as run

    run(
        str(source),
        str(out),
        size,
        str(labels) if labels else None,
        name,
        test_fraction,
        seed,
        crop_center,
        overwrite,
        _workers(workers),
    )


@prepare_app.command(
    "cyclegan",
    epilog="Examples:\n\n  stargan prepare cyclegan --source ~/data/horse2zebra.zip --out data/horse2zebra\n\n"
    "  stargan prepare cyclegan --source ~/data/monet2photo --domains monet,photo --out data/monet2photo",
)
@friendly
def prepare_cyclegan(
    source: Annotated[
        Path, typer.Option(help="A CycleGAN dataset: its folder or .zip, with trainA/ trainB/ testA/ testB/.")
    ],
    out: Annotated[Path, typer.Option(help="Directory of the prepared dataset.")],
    domains: Annotated[
        str | None, typer.Option(help="Names of domains A and B (default: from the name, horse2zebra).")
    ] = None,
    size: Annotated[int, typer.Option(help="Image size.")] = 256,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a dataset already at --out.")] = False,
) -> None:
    """A two-domain dataset in CycleGAN's layout (horse2zebra, apple2orange, monet2photo, ...)."""
    from .data.readers.cyclegan import prepare_cyclegan as run

    run(str(source), str(out), size, domains, overwrite, _workers(workers))


@app.command(
    epilog="Examples:\n\n  stargan train recipes/toyfaces.toml\n\n"
    "  stargan train --recipe recipes/toyfaces.toml --set train.ema=0 --dry-run\n\n"
    "  stargan train --resume runs/0001-toyfaces"
)
@friendly
def train(
    recipe_arg: Annotated[Path | None, typer.Argument(metavar="[RECIPE]", help="Recipe TOML file.")] = None,
    recipe: Annotated[Path | None, typer.Option("--recipe", "-r", help="Recipe TOML file.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: section.key=value.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the resolved configuration and stop.")
    ] = False,
    resume: Annotated[
        Path | None, typer.Option(help="Continue a run directory from its last checkpoint.")
    ] = None,
) -> None:
    """Train a model from a recipe; writes runs/NNNN-<recipe>/ (config, metrics, samples, checkpoints)."""
    from .config import load_recipe
    from .errors import ConfigError

    path = recipe or recipe_arg
    if resume is not None:
        if path is not None or set_:
            raise ConfigError(
                "--resume continues a run with its own config.json; do not pass a recipe or --set"
            )
        from .train.rundir import read_config

        config = read_config(resume)
    elif path is None:
        raise ConfigError("which recipe? e.g. stargan train recipes/toyfaces.toml")
    else:
        config, _ = load_recipe(path, set_ or [])
    if dry_run:
        stdout.print_json(config.to_json())
        return
    from .train.loop import train as run

    result = run(config if resume is None else None, resume=resume)
    if not result.main:
        return
    samples = sorted((result.run_dir / "samples").glob("step-*.png"))
    stdout.print(f"trained {result.run_dir} to step {result.step}")
    stdout.print(f"model: {result.run_dir / 'generator.safetensors'}")
    if samples:
        stdout.print(f"translations: {samples[-1]}")
    stdout.print(f"next: stargan evaluate {result.run_dir}")


@app.command(
    epilog="Examples:\n\n  stargan translate photo.jpg --model models/celeba-128 --to blond,male=0\n\n"
    "  stargan translate photos/ --pattern '*.jpg' --model runs/latest --to young=0.5 --out translated/\n\n"
    "  stargan translate crops/ --no-detect --model runs/0001-toyfaces --grid --out grids/\n\n"
    "  stargan translate scenes/ --native --model models/horse2zebra --to zebra --out zebras/"
)
@friendly
def translate(
    inputs: Annotated[
        list[str], typer.Argument(metavar="INPUT...", help="Image files, folders, or .txt lists of paths.")
    ],
    model: Annotated[
        str | None,
        typer.Option(help="A run directory, generator.safetensors or .onnx (default: runs/latest)."),
    ] = None,
    to: Annotated[str | None, typer.Option(help="Targets, e.g. blond,male=0,young=0.5.")] = None,
    grid: Annotated[
        bool, typer.Option("--grid", help="Also write every single-attribute target side by side.")
    ] = False,
    from_: Annotated[
        str | None, typer.Option("--from", help="Source attributes instead of inferring them.")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(help="Output folder, mirroring the input folders (default: beside each input)."),
    ] = None,
    detect: Annotated[
        bool,
        typer.Option("--detect/--no-detect", help="Find faces; --no-detect: images already are face crops."),
    ] = True,
    face: Annotated[
        int | None, typer.Option(help="Only the N-th face found, counting from 1 left to right.")
    ] = None,
    native: Annotated[
        bool,
        typer.Option(
            "--native", help="The whole image at its own resolution, no face detection (scenes: CycleGAN)."
        ),
    ] = False,
    attention: Annotated[
        bool,
        typer.Option("--attention", help="Also write where the generator looked (U-GAT-IT's CAM heatmaps)."),
    ] = False,
    max_side: Annotated[
        int | None,
        typer.Option(
            help="Scale inputs whose longest side is larger down to this first (JPEGs decode smaller)."
        ),
    ] = None,
    pattern: Annotated[str | None, typer.Option(help="Only files whose name matches, e.g. '*.jpg'.")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="png, jpg or webp (default: the input's format).")
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(help="A photo whose style the outputs take, framed as the inputs (StarGAN v2 models)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="The sampled style's seed (StarGAN v2 models; default 0).")
    ] = None,
    samples: Annotated[
        int, typer.Option(help="Outputs of different sampled styles per input (StarGAN v2 models).")
    ] = 1,
    batch_size: Annotated[int, typer.Option(help="Faces translated at once.")] = 16,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
) -> None:
    """Translate the faces in photos to the named attributes; unnamed attributes are kept."""
    from .errors import ImageError, MissingInput
    from .translate import run

    if model is None:
        latest = Path("runs/latest")
        if not (latest / "generator.safetensors").is_file():
            raise MissingInput(
                "no --model given and no trained model at runs/latest: train one (stargan prepare toyfaces && "
                "stargan train recipes/toyfaces.toml), convert released weights (stargan import-reference), "
                "or pass --model RUN_FOLDER, generator.safetensors or generator.onnx"
            )
        model = str(latest)
    result = run(
        inputs,
        model,
        to,
        out,
        grid,
        from_,
        batch_size,
        device,
        detect=detect,
        face=face,
        pattern=pattern,
        fmt=format_,
        native=native,
        max_side=max_side,
        attention=attention,
        reference=ref,
        seed=seed,
        samples=samples,
    )
    for path in result.written:
        stdout.print(str(path))
    if result.skipped and not result.written:
        raise ImageError(f"none of the {result.inputs} inputs could be translated (warnings above)")
    if result.skipped:
        raise ImageError(
            f"{len(result.skipped)} of {result.inputs} inputs skipped (warnings above); the other results are written"
        )


@app.command(
    "import-reference",
    epilog="Examples:\n\n  stargan import-reference stargan_celeba_128/models/200000-G.ckpt "
    "--discriminator stargan_celeba_128/models/200000-D.ckpt --out models/celeba-128\n\n"
    "  stargan import-reference horse2zebra.pth --method cyclegan --from horse --to zebra "
    "--reverse zebra2horse.pth --out models/horse2zebra\n\n"
    "  stargan import-reference results/selfie2anime_params_latest.pt --method ugatit --from selfie --to anime "
    "--out models/selfie2anime\n\n"
    "  stargan import-reference outputs/unit_summer2winter/checkpoints/gen_01000000.pt --method unit "
    "--from summer --to winter --out models/summer2winter",
)
@friendly
def import_reference(
    generator: Annotated[
        Path, typer.Argument(metavar="G.ckpt", help="The reference's generator checkpoint.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for generator.safetensors (and the other networks).")],
    method: Annotated[
        str,
        typer.Option(
            help="Whose weights: stargan (-G.ckpt), cyclegan (a released .pth), ugatit (*_params_*.pt), unit "
            "(gen_*.pt), or a plugin's method."
        ),
    ] = "stargan",
    discriminator: Annotated[
        Path | None,
        typer.Option(help="stargan: the matching -D.ckpt; its classifier infers source attributes."),
    ] = None,
    image_size: Annotated[
        int | None,
        typer.Option(
            help="stargan: 128 or 256 (read from the discriminator when given); cyclegan, light ugatit, unit: 256."
        ),
    ] = None,
    attributes: Annotated[
        str,
        typer.Option(
            help="stargan: the labels in training order; stargan_v2: its domains, in the order of its training "
            "folders (sorted)."
        ),
    ] = DEFAULT_ATTRIBUTES,
    source: Annotated[
        str | None, typer.Option("--from", help="cyclegan, ugatit, unit: the domain it translates from (A).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--to", help="cyclegan, ugatit, unit: the domain it translates to (B).")
    ] = None,
    reverse: Annotated[
        Path | None, typer.Option(help="cyclegan: the other direction's generator (e.g. zebra2horse.pth).")
    ] = None,
) -> None:
    """Convert a reference implementation's released weights (weights-only load) for translate."""
    from .errors import ConfigError
    from .imports.spec import ImportRequest
    from .methods import importer_of

    importer = importer_of(method)
    given = {"discriminator": discriminator, "image_size": image_size, "from": source, "to": target,
             "reverse": reverse, "attributes": attributes if attributes != DEFAULT_ATTRIBUTES else None}  # fmt: skip
    refused = [
        f"--{name.replace('_', '-')}" for name, value in given.items() if value and name not in importer.takes
    ]
    if refused:
        raise ConfigError(
            f"{' and '.join(refused)} {'is' if len(refused) == 1 else 'are'} not for --method {method}: "
            f"{importer.holds}"
        )
    # the names given (a method's own default, e.g. StarGAN's CelebA labels, when left out)
    names = tuple(a.strip() for a in attributes.split(",") if a.strip()) if given["attributes"] else ()
    request = ImportRequest(
        generator, out, discriminator, image_size, names, source or "", target or "", reverse
    )
    written = importer.convert(request)
    example = importer.next_flags(request)
    for path in written:
        stdout.print(str(path))
    stdout.print(f"next: stargan translate photo.jpg --model {out} {example}")


@app.command(
    epilog="Examples:\n\n  stargan info runs/latest\n\n  stargan info data/toyfaces\n\n"
    "  stargan info exported/generator.onnx --json"
)
@friendly
def info(
    path: Annotated[
        Path,
        typer.Argument(
            help="A run or checkpoint folder, a .safetensors or .onnx file, or a prepared dataset."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Say what a run, checkpoint, model file or prepared dataset is, from its own metadata."""
    from .info import describe, lines

    described = describe(path)
    if as_json:
        import json

        stdout.print_json(json.dumps(described, default=str))
        return
    from rich.table import Table

    table = Table(title=f"{described['kind']}: {described['path']}", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in described.items():
        if key in ("kind", "path"):
            continue
        table.add_row(key, "\n".join(lines(value)))
    stdout.print(table)


# options that evaluate and compare share
EvaluatorOption = Annotated[
    str, typer.Option(help="resnet18 (the paper's), small (fast on a CPU), or auto: small below 64 px.")
]
FidOption = Annotated[bool, typer.Option(help="FID and KID per target domain (needs the Inception weights).")]
FidWeightsOption = Annotated[
    str | None,
    typer.Option(help="The FID Inception weights file (or $STARGAN_FID_WEIGHTS, or the torch hub cache)."),
]
FidImagesOption = Annotated[int, typer.Option(help="Real images per target domain for FID/KID.")]
OutputsOption = Annotated[
    int,
    typer.Option(help="Guided methods (StarGAN v2): translations per test image and mode (the paper: 10)."),
]
LpipsWeightsOption = Annotated[
    str | None,
    typer.Option(
        help="Guided methods: LPIPS's linear layers (StarGAN v2's metrics/lpips_weights.ckpt) for diversity."
    ),
]
LpipsBackboneOption = Annotated[
    str | None,
    typer.Option(help="torchvision's AlexNet weights file for LPIPS (default: the torch hub cache)."),
]


@app.command(epilog="Example: stargan evaluate runs/0001-toyfaces")
@friendly
def evaluate(
    model: Annotated[str, typer.Argument(metavar="RUN", help="A run directory or a generator.safetensors.")],
    data: Annotated[
        list[str] | None, typer.Option(help="Prepared dataset(s); default: the run's datasets.")
    ] = None,
    out: Annotated[str | None, typer.Option(help="report.json path (default: beside the model).")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N test images.")] = None,
    retrain_evaluator: Annotated[bool, typer.Option(help="Retrain the cached attribute classifier.")] = False,
    batch_size: Annotated[int, typer.Option(help="Test images per batch.")] = 64,
    device: Annotated[str, typer.Option(help="cpu, or auto (a GPU when there is one).")] = "cpu",
    evaluator: EvaluatorOption = "auto",
    fid: FidOption = True,
    fid_weights: FidWeightsOption = None,
    fid_images: FidImagesOption = 1000,
    outputs: OutputsOption = 10,
    lpips_weights: LpipsWeightsOption = None,
    lpips_backbone: LpipsBackboneOption = None,
) -> None:
    """Score translations of the test split: target accuracy, preservation, reconstruction, ground truth,
    and FID/KID per target domain; for StarGAN v2, in latent and reference modes with their diversity.

    Under several processes (CPUs: `ACCELERATE_USE_CPU=1 torchrun --nproc_per_node 2 -m stargan_cli evaluate
    RUN`; GPUs: `accelerate launch --multi_gpu ...`) the batches are shared between them."""
    from .evaluate.run import evaluate as run
    from .evaluate.run import tables, truth_lines

    dev = None if device == "auto" else device
    report = run(
        model, data, out, limit, retrain_evaluator, dev, batch_size,
        evaluator=evaluator, fid=fid, fid_weights=fid_weights, fid_images=fid_images,
        outputs=outputs, lpips_weights=lpips_weights, lpips_backbone=lpips_backbone,
    )  # fmt: skip
    if report is None:  # not the main process
        return
    for table in tables(report):
        stdout.print(table)
    for line in truth_lines(report):
        stdout.print(line)
    stdout.print(f"report: {report.path}")
    stdout.print(f"picture: {report.picture}")


@app.command(
    epilog="Example:\n\n  stargan compare runs/0001-toyfaces runs/0002-toyfaces_cyclegan runs/0003-toyfaces_unit "
    "--out comparison.json"
)
@friendly
def compare(
    models: Annotated[
        list[str],
        typer.Argument(metavar="RUN_OR_MODEL...", help="Two or more run directories or model files."),
    ],
    data: Annotated[
        list[str] | None,
        typer.Option(help="Prepared dataset(s) to compare on (default: the first model's training data)."),
    ] = None,
    out: Annotated[
        str, typer.Option(help="The comparison's JSON file; the picture is written beside it.")
    ] = ("comparison.json"),
    limit: Annotated[int | None, typer.Option(help="Use only the first N test images.")] = None,
    batch_size: Annotated[int, typer.Option(help="Test images per batch.")] = 64,
    device: Annotated[str, typer.Option(help="cpu, or cuda.")] = "cpu",
    evaluator: EvaluatorOption = "auto",
    fid: FidOption = True,
    fid_weights: FidWeightsOption = None,
    fid_images: FidImagesOption = 1000,
    outputs: OutputsOption = 10,
) -> None:
    """Score several models on the same test images with the same evaluator: one table, one picture."""
    from .evaluate.compare import compare as run
    from .evaluate.compare import tables

    result = run(
        models, data, out, limit, device, batch_size, evaluator,
        fid=fid, fid_weights=fid_weights, fid_images=fid_images, outputs=outputs,
    )  # fmt: skip
    for table in tables(result):
        stdout.print(table)
    stdout.print(f"comparison: {result.path}")
    stdout.print(f"picture: {result.picture}")


@app.command(epilog="Example: stargan export runs/0001-toyfaces --out exported/")
@friendly
def export(
    run_dir: Annotated[str, typer.Argument(metavar="RUN", help="A run directory.")],
    out: Annotated[str | None, typer.Option(help="Output folder (default: the run directory).")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="safetensors, or onnx (needs the onnx extra).")
    ] = "safetensors",
) -> None:
    """Write the self-describing generator.safetensors (and discriminator) of a run's last checkpoint."""
    from .export import export as run

    result = run(run_dir, out, format_)
    for path in result.files:
        stdout.print(str(path))
    check = "onnxruntime vs PyTorch" if format_ == "onnx" else "reloaded from metadata alone"
    stdout.print(f"step {result.step}; {check}: max |diff| {result.max_abs_diff:g}")


@app.command(
    epilog="Examples:\n\n  stargan serve --model runs/0001-toyfaces\n\n  stargan serve --model runs/0001-toyfaces "
    "--model runs/0002-toyfaces_cyclegan --port 8080"
)
@friendly
def serve(
    model: Annotated[
        list[str],
        typer.Option(
            metavar="RUN_OR_FILE",
            help="A run directory, generator.safetensors or .onnx; repeat for several models.",
        ),
    ],
    host: Annotated[
        str,
        typer.Option(help="The address to listen on; another than 127.0.0.1 opens the page to the network."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port (0: any free one).")] = 8000,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
) -> None:
    """A local web page: drop a photo, choose attributes, see and download the translation."""
    from .serve.app import serve as run

    run(model, host, port, device, announce=stdout.print)
