"""Recipes: frozen, typed dataclasses loaded from TOML, with `--set section.key=value` overrides.

One name per setting everywhere: the TOML key, the dataclass field and the `--set` path are the same.
Unknown keys and wrong types are rejected with a did-you-mean hint; values are parsed as TOML literals,
never evaluated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, did_you_mean
from .methods import get_method

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DEVICES = ("auto", "cpu", "cuda")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


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
    # the reference CycleGAN's resize_and_crop: each training image is resized to load_size px and a random
    # model.image_size crop of it taken (286 for 256); 0 = off. Test images are used as prepared.
    load_size: int = 0
    # StarGAN v2's augmentation: with this probability, a random crop of 80-100% of the area and aspect 0.9-1.1
    # resized back to the image size (torchvision's RandomResizedCrop); 0 = off
    resized_crop: float = 0.0

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ConfigError("data.datasets is empty: list the prepared dataset directories to train on")
        if self.batch_size < 1:
            raise ConfigError("data.batch_size must be at least 1")
        if self.sample_count < 1:
            raise ConfigError("data.sample_count must be at least 1")
        if not 0 <= self.zoom_out < 1:
            raise ConfigError(f"data.zoom_out must be in [0, 1), got {self.zoom_out}")
        if not 0 <= self.shift < 0.5:
            raise ConfigError(f"data.shift must be in [0, 0.5), got {self.shift}")
        if self.load_size < 0:
            raise ConfigError(f"data.load_size must be 0 (off) or a size in pixels, got {self.load_size}")
        if not 0 <= self.resized_crop <= 1:
            raise ConfigError(f"data.resized_crop is a probability in [0, 1], got {self.resized_crop}")
        if self.resized_crop and self.load_size:
            raise ConfigError("data.resized_crop and data.load_size are two kinds of random crop: choose one")
        if self.load_size and (self.zoom_out or self.shift):
            raise ConfigError(
                "data.load_size (random crops) cannot be combined with data.zoom_out or data.shift"
            )


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "stargan"  # the method (stargan_cli.methods.METHODS)
    params: Any = None  # the method's own model config dataclass, e.g. StarGANConfig

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, **dataclasses.asdict(self.params)}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200_000  # discriminator steps (the reference's iterations)
    decay_start: int = 100_000  # learning rates decay linearly from here to exactly 0 at `steps`
    # instead of the linear decay, multiply the rates by lr_gamma every lr_step steps (UNIT's StepLR); 0 = off
    lr_step: int = 0
    lr_gamma: float = 0.5
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0  # Adam's L2 on every weight (U-GAT-IT's recipes: 1e-4, as its code)
    # not in the paper: decay of a moving average of the generator's weights, which samples, exports,
    # translate and evaluate then use (0 = off; e.g. 0.999; train/ema.py)
    ema: float = 0.0
    seed: int = 1234
    # fp32 | bf16 | fp16 | auto (bf16 where the device computes it natively, else fp32: accelerators.py)
    precision: str = "fp32"
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
    # live views through Accelerate's trackers: "tensorboard" (into the run directory), "wandb", "mlflow"
    log_with: tuple[str, ...] = ()

    # settings of earlier versions that are now the method's ([loss]); a recipe naming one is told where
    MOVED = {k: f"loss.{k}" for k in ("lambda_cls", "lambda_rec", "lambda_gp", "n_critic", "cross_targets")}
    # experiments of earlier versions, removed after measurement (docs/experiments.md): accepted only at
    # these values, which are what training does now, so older run directories still resume
    RETIRED = {"augment_shift": 0.0, "lambda_id": 0.0, "fake_shift": 0.0, "fake_zoom": 0.0, "d_warmup": 0}

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "log_every",
            "sample_every",
            "checkpoint_every",
            "keep_checkpoints",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.lr_step < 0 or not 0 < self.lr_gamma <= 1:
            raise ConfigError(
                f"train.lr_step must be 0 (linear decay) or a number of steps, and train.lr_gamma in (0, 1]; got "
                f"{self.lr_step} and {self.lr_gamma}"
            )
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
        if not 0 <= self.weight_decay < 1:
            raise ConfigError(f"train.weight_decay must be in [0, 1) (e.g. 1e-4), got {self.weight_decay}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(
                    f"train.{name} must be in [0, 1) (Adam's decay rates), got {getattr(self, name)}"
                )
        if not 0 <= self.ema < 1:
            raise ConfigError(f"train.ema must be in [0, 1) (0 = off, e.g. 0.999), got {self.ema}")

    def cuda_graph_clashes(self) -> list[str]:
        """Settings a recorded CUDA graph cannot hold (the method's own are in its [loss] config)."""
        clashes = {
            'train.precision = "fp16"': self.precision == "fp16",  # the scaler syncs with the host
            "train.compile_generator": self.compile_generator,  # not tested together
        }
        return [name for name, clash in clashes.items() if clash]


@dataclass(frozen=True)
class OutputConfig:
    runs_dir: str = "runs"
    name: str = ""  # run name suffix; defaults to the recipe file's stem


@dataclass(frozen=True)
class Recipe:
    data: DataConfig
    model: ModelConfig
    loss: Any  # the method's own loss config dataclass, e.g. StarGANLoss
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        size = self.model.params.image_size
        if self.data.load_size and self.data.load_size < size:
            raise ConfigError(
                f"data.load_size {self.data.load_size} is smaller than model.image_size {size}: the random "
                f"crops are taken from images enlarged to load_size (e.g. {size * 286 // 256} for {size})"
            )
        if self.train.cuda_graphs:
            clashes = self.train.cuda_graph_clashes() + getattr(self.loss, "cuda_graph_clashes", list)()
            if clashes:
                raise ConfigError(
                    f"train.cuda_graphs cannot be combined with {', '.join(clashes)}; turn one of them off "
                    '(graphs need a step with fixed shapes and no host round trips; use "bf16" for speed)'
                )

    def to_dict(self) -> dict:
        return {
            "data": dataclasses.asdict(self.data),
            "model": self.model.to_dict(),
            "loss": dataclasses.asdict(self.loss),
            "train": dataclasses.asdict(self.train),
            "output": dataclasses.asdict(self.output),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def hash(self) -> str:
        """A hash of what determines the training result (resume refuses a run whose hash differs)."""
        return config_hash(self.to_dict())


def config_hash(data: Mapping[str, Any]) -> str:
    """The hash of a recipe's plain data (every section but [output]), as checkpoints record it."""
    data = {k: v for k, v in data.items() if k != "output"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# the model and loss sections' classes are the method's (stargan_cli.methods)
SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": None,
    "train": TrainConfig,
    "output": OutputConfig,
}


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
        if ok and not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, got {value}")
    elif annotation is str:
        ok = isinstance(value, str)
    elif origin is tuple:
        if isinstance(value, str):  # `--set model.domains=horse,zebra`
            value = [v.strip() for v in value.split(",") if v.strip()]
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = True
    if not ok:
        name = getattr(annotation, "__name__", str(annotation)).replace("tuple", "list of str")
        raise ConfigError(f"{path} must be {name}, got {type(value).__name__} {value!r}")
    return value


def build_dataclass(cls: type, values: Mapping[str, Any], prefix: str, migrate: bool = False) -> Any:
    """`values` -> cls(**values) with unknown keys and wrong types reported by their dotted path.

    A key of the class's RETIRED mapping (a setting earlier versions had) is dropped at its listed value
    (or any of a tuple of them) and refused at any other; a key of its MOVED mapping is refused with its
    new place (with `migrate`, the caller has moved it already and it is dropped here)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    retired, moved = getattr(cls, "RETIRED", {}), getattr(cls, "MOVED", {})
    kwargs = {}
    for key, value in values.items():
        if key in moved:
            if migrate:
                continue
            raise ConfigError(
                f"{prefix}{key} is now {moved[key]}: move the line to the [{moved[key].split('.')[0]}] section"
            )
        if key in retired and key not in names:
            accepted = retired[key] if isinstance(retired[key], tuple) else (retired[key],)
            if value in accepted:
                continue
            raise ConfigError(
                f"{prefix}{key} = {value!r} is an experiment that this stargan version removed (measured in "
                f"docs/experiments.md); remove the line, or use the version that had it"
            )
        if key not in names:
            raise ConfigError(f"unknown setting {prefix}{key}.{did_you_mean(key, names)}")
        kwargs[key] = _check_type(prefix + key, value, hints[key])
    return cls(**kwargs)


def _moved_settings(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The settings of `data` that an earlier version kept elsewhere, by their new section."""
    found: dict[str, dict[str, Any]] = {}
    for section, cls in SECTIONS.items():
        values = data.get(section, {})
        for key, target in getattr(cls, "MOVED", {}).items():
            if key in values:
                new_section, new_key = target.split(".")
                found.setdefault(new_section, {})[new_key] = values[key]
    return found


def recipe_from_dict(data: Mapping[str, Any], migrate: bool = False) -> Recipe:
    """A validated Recipe. With `migrate` (a run directory's config.json, written by this or an earlier
    version), settings that moved section are read from their old place."""
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"unknown section [{key}].{did_you_mean(key, SECTIONS)}")
        if not isinstance(data[key], Mapping):
            raise ConfigError(f"[{key}] must be a table of settings")
    if "data" not in data:
        raise ConfigError('the recipe has no [data] section: add `[data]` with `datasets = ["DIR"]`')
    model = dict(data.get("model", {}))
    name = _check_type("model.architecture", model.pop("architecture", "stargan"), str)
    method = get_method(name)
    loss = dict(data.get("loss", {}))
    if migrate:
        loss = {**_moved_settings(data).get("loss", {}), **loss}
    data_config = build_dataclass(DataConfig, data["data"], "data.")
    if data_config.batch_size < method.training.min_batch:
        raise ConfigError(
            f"data.batch_size must be at least {method.training.min_batch} for model.architecture {name!r}"
        )
    return Recipe(
        data=data_config,
        model=ModelConfig(name, build_dataclass(method.model.config, model, "model.")),
        loss=build_dataclass(method.training.config, loss, "loss."),
        train=build_dataclass(TrainConfig, data.get("train", {}), "train.", migrate),
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
