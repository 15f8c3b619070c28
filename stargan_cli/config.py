"""Recipes: frozen, typed dataclasses loaded from TOML, with `--set section.key=value` overrides.

One name per setting everywhere: the TOML key, the dataclass field and the `--set` path are the same.
Unknown keys and wrong types are rejected with a did-you-mean hint; values are parsed as TOML literals,
never evaluated.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def did_you_mean(name: str, options: Iterable[str]) -> str:
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Valid: {', '.join(sorted(options))}"


@dataclass(frozen=True)
class DataConfig:
    datasets: tuple[str, ...] = ()  # prepared dataset directories (`stargan prepare ... --out DIR`)
    batch_size: int = 16  # per process
    flip: bool = True  # random horizontal flip
    sample_count: int = 8  # fixed test images in the sample grids
    # not in the paper: each training image zoomed out by up to this fraction and moved by up to `shift`
    # of its side, edges repeated, so one dataset's framing does not become part of its domain
    zoom_out: float = 0.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ConfigError("data.datasets is empty: list the prepared dataset directories to train on")
        if self.batch_size < 2:
            raise ConfigError("data.batch_size must be at least 2 (targets are a permutation of the batch)")
        if self.sample_count < 1:
            raise ConfigError("data.sample_count must be at least 1")
        if not 0 <= self.zoom_out < 1:
            raise ConfigError(f"data.zoom_out must be in [0, 1), got {self.zoom_out}")
        if not 0 <= self.shift < 0.5:
            raise ConfigError(f"data.shift must be in [0, 0.5), got {self.shift}")


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "stargan"
    params: Any = None  # the architecture's own config dataclass, e.g. StarGANConfig

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, **dataclasses.asdict(self.params)}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200_000  # discriminator steps (the reference's iterations)
    decay_start: int = 100_000  # learning rates decay linearly from here to exactly 0 at `steps`
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5  # generator updated every n_critic discriminator steps
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    augment_shift: float = 0.0  # not in the paper: D's inputs shifted by up to this fraction of the side
    # not in the paper: this fraction of each batch is translated to another dataset's targets (joint runs)
    cross_targets: float = 0.0
    # not in the paper: weight of CycleGAN's identity loss |x - G(x, c_org)| in G's loss
    lambda_id: float = 0.0
    # not in the paper: G's classification loss reads its outputs shifted by up to this fraction of the side
    fake_shift: float = 0.0
    # not in the paper: ... and zoomed out at random by up to this fraction (bilinear, edges repeated)
    fake_zoom: float = 0.0
    # not in the paper: D's classifier first trains alone on real images for this many steps
    d_warmup: int = 0
    seed: int = 1234
    precision: str = "fp32"  # fp32 | bf16 | fp16
    device: str = "auto"  # auto | cpu | cuda
    log_every: int = 10
    sample_every: int = 1000
    checkpoint_every: int = 10_000
    keep_checkpoints: int = 3
    compile_generator: bool = False  # torch.compile the generator (never D: double backward)
    # the networks' memory layout: auto = channels_last on a GPU (faster bf16 convolutions), else contiguous
    memory_format: str = "auto"
    # replay each step as a CUDA graph (on a CUDA GPU; ignored elsewhere): far fewer kernel launches
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "n_critic",
            "log_every",
            "sample_every",
            "checkpoint_every",
            "keep_checkpoints",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.decay_start <= self.steps:
            raise ConfigError(f"train.decay_start must be between 0 and train.steps ({self.steps})")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"train.precision {self.precision!r} unknown.{did_you_mean(self.precision, PRECISIONS)}"
            )
        if self.device not in DEVICES:
            raise ConfigError(f"train.device {self.device!r} unknown.{did_you_mean(self.device, DEVICES)}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ConfigError(
                f"train.memory_format {self.memory_format!r} unknown."
                f"{did_you_mean(self.memory_format, MEMORY_FORMATS)}"
            )
        for name in ("g_lr", "d_lr"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive")
        for name in ("augment_shift", "fake_shift"):
            if not 0 <= getattr(self, name) < 0.5:
                raise ConfigError(f"train.{name} must be in [0, 0.5), got {getattr(self, name)}")
        if not 0 <= self.fake_zoom < 1:
            raise ConfigError(f"train.fake_zoom must be in [0, 1), got {self.fake_zoom}")
        if self.lambda_id < 0:
            raise ConfigError(f"train.lambda_id must be 0 or more, got {self.lambda_id}")
        if not 0 <= self.cross_targets <= 1:
            raise ConfigError(f"train.cross_targets must be in [0, 1], got {self.cross_targets}")
        if self.cuda_graphs:
            clashes = {
                "train.augment_shift": self.augment_shift != 0,  # its offsets are drawn on the host
                "train.fake_shift": self.fake_shift != 0,
                "train.fake_zoom": self.fake_zoom != 0,
                "train.cross_targets": self.cross_targets != 0,  # rows and slices change every step
                'train.precision = "fp16"': self.precision == "fp16",  # the scaler syncs with the host
                "train.compile_generator": self.compile_generator,  # not tested together
            }
            if any(clashes.values()):
                names = ", ".join(name for name, clash in clashes.items() if clash)
                raise ConfigError(
                    f"train.cuda_graphs cannot be combined with {names}; turn one of them off "
                    '(graphs need a step with fixed shapes and no host round trips; use "bf16" for speed)'
                )
        if self.d_warmup < 0:
            raise ConfigError(f"train.d_warmup must be 0 or more steps, got {self.d_warmup}")


@dataclass(frozen=True)
class OutputConfig:
    runs_dir: str = "runs"
    name: str = ""  # run name suffix; defaults to the recipe file's stem


@dataclass(frozen=True)
class Recipe:
    data: DataConfig
    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict:
        return {
            "data": dataclasses.asdict(self.data),
            "model": self.model.to_dict(),
            "train": dataclasses.asdict(self.train),
            "output": dataclasses.asdict(self.output),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def hash(self, exclude: tuple[str, ...] = ("output",)) -> str:
        """A hash of what determines the training result (resume refuses a run whose hash differs)."""
        data = {k: v for k, v in self.to_dict().items() if k not in exclude}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "output": OutputConfig}


# ----- building dataclasses from plain data --------------------------------------------------------------
def _check_type(path: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif annotation is str:
        ok = isinstance(value, str)
    elif origin is tuple:
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = True
    if not ok:
        name = getattr(annotation, "__name__", str(annotation)).replace("tuple", "list of str")
        raise ConfigError(f"{path} must be {name}, got {type(value).__name__} {value!r}")
    return value


def build_dataclass(cls: type, values: Mapping[str, Any], prefix: str) -> Any:
    """`values` -> cls(**values) with unknown keys and wrong types reported by their dotted path."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"unknown setting {prefix}{key}.{did_you_mean(key, names)}")
        kwargs[key] = _check_type(prefix + key, value, hints[key])
    return cls(**kwargs)


def _build_model(values: Mapping[str, Any]) -> ModelConfig:
    from .models import get_architecture

    values = dict(values)
    name = values.pop("architecture", "stargan")
    architecture = get_architecture(_check_type("model.architecture", name, str))
    return ModelConfig(name, build_dataclass(architecture.config_class, values, "model."))


def recipe_from_dict(data: Mapping[str, Any]) -> Recipe:
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"unknown section [{key}].{did_you_mean(key, SECTIONS)}")
        if not isinstance(data[key], Mapping):
            raise ConfigError(f"[{key}] must be a table of settings")
    if "data" not in data:
        raise ConfigError('the recipe has no [data] section: add `[data]` with `datasets = ["DIR"]`')
    return Recipe(
        data=build_dataclass(DataConfig, data["data"], "data."),
        model=_build_model(data.get("model", {})),
        train=build_dataclass(TrainConfig, data.get("train", {}), "train."),
        output=build_dataclass(OutputConfig, data.get("output", {}), "output."),
    )


# ----- overrides and files ------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.steps=100` -> (["train", "steps"], 100). The value is a TOML literal; a bare word is a string."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise ConfigError(f"--set {text!r}: write section.key=value, e.g. --set train.steps=1000")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return [p.strip() for p in path.strip().split(".")], value


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for text in overrides:
        path, value = parse_override(text)
        if len(path) != 2:
            raise ConfigError(f"--set {text!r}: the key must be section.key, e.g. train.steps")
        section, key = path
        if section not in SECTIONS:
            raise ConfigError(
                f"--set {text!r}: unknown section {section!r}.{did_you_mean(section, SECTIONS)}"
            )
        data.setdefault(section, {})[key] = value
    return data


def load_recipe(path: str | Path, overrides: Iterable[str] = ()) -> tuple[Recipe, dict]:
    """Read a TOML recipe, apply overrides, validate. Returns the recipe and the raw (overridden) data."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe {path} not found; the shipped recipes are in recipes/")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"recipe {path} is not valid TOML: {exc}") from None
    data = apply_overrides(data, overrides)
    data.setdefault("output", {}).setdefault("name", path.stem)
    return recipe_from_dict(data), data
