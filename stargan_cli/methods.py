"""The registry of methods: one line per translation model, naming its model file's `MODEL` and its
objective file's `TRAINING` (docs/design.md, "Methods").

Training, checkpoints, export, ONNX, translate and evaluate reach a method only through its entry here:
its `[model]` and `[loss]` config classes, its networks by name, its optimisers and phases, its objective
and what translates. A recipe picks one with `model.architecture`.

Methods defined outside this package join the registry without a change here: a package declares them as
entry points in the group `stargan.methods` (name = a `Method` object), or `$STARGAN_METHODS` lists them
as `module:attribute` separated by commas (for a method under development, and for the tests' made-up one,
which a `stargan serve` process must know too).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

from .errors import ConfigError, StarganError, did_you_mean
from .models import cyclegan as cyclegan_model
from .models import stargan as stargan_model
from .models import stargan_v2 as stargan_v2_model
from .models import ugatit as ugatit_model
from .models import unit as unit_model
from .models.spec import ModelSpec
from .objectives import cyclegan as cyclegan_objective
from .objectives import stargan as stargan_objective
from .objectives import stargan_v2 as stargan_v2_objective
from .objectives import ugatit as ugatit_objective
from .objectives import unit as unit_objective
from .objectives.spec import TrainingSpec


@dataclass(frozen=True)
class Method:
    name: str
    model: ModelSpec
    training: TrainingSpec
    # its released weights' importer, "module:ATTRIBUTE" of an imports/spec.py Importer, loaded when
    # `stargan import-reference` runs ("" = none)
    importer: str = ""

    def __post_init__(self) -> None:
        trained = self.training.networks
        assert sorted(trained) == sorted(self.model.networks), f"{self.name}: every network trained or frozen"


METHODS: dict[str, Method] = {
    "stargan": Method(
        "stargan", stargan_model.MODEL, stargan_objective.TRAINING, "stargan_cli.imports.stargan:IMPORTER"
    ),
    "cyclegan": Method(
        "cyclegan", cyclegan_model.MODEL, cyclegan_objective.TRAINING, "stargan_cli.imports.cyclegan:IMPORTER"
    ),
    "ugatit": Method(
        "ugatit", ugatit_model.MODEL, ugatit_objective.TRAINING, "stargan_cli.imports.ugatit:IMPORTER"
    ),
    "unit": Method("unit", unit_model.MODEL, unit_objective.TRAINING, "stargan_cli.imports.unit:IMPORTER"),
    "stargan_v2": Method(
        "stargan_v2",
        stargan_v2_model.MODEL,
        stargan_v2_objective.TRAINING,
        "stargan_cli.imports.stargan_v2:IMPORTER",
    ),
}


def _plugin(where: str, load) -> Method:
    try:
        method = load()
    except Exception as exc:  # noqa: BLE001 - whatever the plugin raises, say where it came from
        raise StarganError(
            f"cannot load the method {where} ({exc.__class__.__name__}: {exc}); fix or remove it"
        ) from None
    if not isinstance(method, Method):
        raise StarganError(f"{where} is a {type(method).__name__}, not a stargan_cli.methods.Method")
    if method.name in METHODS and METHODS[method.name] is not method:
        raise StarganError(f"{where} registers {method.name!r}, a name stargan already has; rename it")
    return method


def _register_plugins() -> None:
    """The methods of installed packages (entry points `stargan.methods`) and of $STARGAN_METHODS."""
    found = [(f"entry point {e.name} ({e.value})", e.load) for e in entry_points(group="stargan.methods")]
    for spec in filter(None, (s.strip() for s in os.environ.get("STARGAN_METHODS", "").split(","))):
        module, _, attribute = spec.partition(":")
        if not attribute:
            raise StarganError(f"STARGAN_METHODS: {spec!r} is not module:attribute")
        found.append(
            (
                f"{spec} (STARGAN_METHODS)",
                lambda m=module, a=attribute: getattr(importlib.import_module(m), a),
            )
        )
    for where, load in found:
        method = _plugin(where, load)
        METHODS[method.name] = method


_plugins = {"loaded": False}


def registry() -> dict[str, Method]:
    """Every method by name, the plugins' included (loaded on first use: a plugin's module may import any
    of ours, e.g. checkpoint.py, which reads this registry)."""
    if not _plugins["loaded"]:
        _plugins["loaded"] = True
        _register_plugins()
    return METHODS


def importer_of(name: str):
    """The importer (imports/spec.py) of method `name`'s released weights."""
    importable = [n for n, m in registry().items() if m.importer]
    if name not in METHODS or not METHODS[name].importer:
        raise ConfigError(
            f"--method {name!r} has no importer of released weights.{did_you_mean(name, importable)}"
        )
    module, _, attribute = METHODS[name].importer.partition(":")
    return getattr(importlib.import_module(module), attribute)


def get_method(name: str) -> Method:
    if name not in registry():
        raise ConfigError(f"unknown model.architecture {name!r}.{did_you_mean(name, METHODS)}")
    return METHODS[name]
