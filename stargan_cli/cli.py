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

app = typer.Typer(
    name="stargan",
    help="Multi-domain image-to-image translation: prepare datasets, train StarGAN, translate, evaluate, export.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
prepare_app = typer.Typer(
    help="Turn raw datasets into prepared datasets that training reads fast.", no_args_is_help=True
)
app.add_typer(prepare_app, name="prepare")


def friendly(func):
    """Run a command; user mistakes become one red line and exit code 1 (130 after Ctrl-C)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StarganError as exc:
            error(str(exc))
            code = 130 if exc.__class__.__name__ == "TrainingInterrupted" else 1
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


@app.command(
    epilog="Examples:\n\n  stargan train recipes/toyfaces.toml\n\n"
    "  stargan train --recipe recipes/toyfaces.toml --set train.steps=500 --dry-run\n\n"
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
    samples = sorted((result.run_dir / "samples").glob("step-*.png"))
    stdout.print(f"trained {result.run_dir} to step {result.step}")
    stdout.print(f"model: {result.run_dir / 'generator.safetensors'}")
    if samples:
        stdout.print(f"translations: {samples[-1]}")
    stdout.print(f"next: stargan evaluate {result.run_dir}")


@app.command(
    epilog="Examples:\n\n  stargan translate face.png --model runs/0001-toyfaces --to blond,male=0\n\n"
    "  stargan translate faces/ --model runs/0001-toyfaces --grid --out translated/"
)
@friendly
def translate(
    inputs: Annotated[list[str], typer.Argument(metavar="IMAGE...", help="Image files or folders.")],
    model: Annotated[str, typer.Option(help="A run directory or a generator.safetensors.")],
    to: Annotated[str | None, typer.Option(help="Targets, e.g. blond,male=0,young=0.5.")] = None,
    grid: Annotated[
        bool, typer.Option("--grid", help="Also write every single-attribute target side by side.")
    ] = False,
    from_: Annotated[
        str | None, typer.Option("--from", help="Source attributes instead of inferring them.")
    ] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (default: beside each input).")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
) -> None:
    """Translate images to the named attributes; unnamed attributes are kept."""
    from .translate import run

    for path in run(inputs, model, to, out, grid, from_, device=device):
        stdout.print(str(path))


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
) -> None:
    """Score translations of the test split: target accuracy, preservation, reconstruction, ground truth."""
    from .evaluate.run import evaluate as run
    from .evaluate.run import table

    report = run(model, data, out, limit, retrain_evaluator)
    stdout.print(table(report))
    stdout.print(f"report: {report.path}")


@app.command(epilog="Example: stargan export runs/0001-toyfaces --out exported/")
@friendly
def export(
    run_dir: Annotated[str, typer.Argument(metavar="RUN", help="A run directory.")],
    out: Annotated[str | None, typer.Option(help="Output folder (default: the run directory).")] = None,
    format_: Annotated[str, typer.Option("--format", help="safetensors.")] = "safetensors",
) -> None:
    """Write the self-describing generator.safetensors (and discriminator) of a run's last checkpoint."""
    from .export import export as run

    result = run(run_dir, out, format_)
    for path in result.files:
        stdout.print(str(path))
    stdout.print(f"step {result.step}; reloaded from metadata alone: max |diff| {result.max_abs_diff:g}")


def main() -> None:  # pragma: no cover - console entry for `python -m stargan_cli`
    app()
