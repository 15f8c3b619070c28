"""The registry of methods: one line per translation model, naming its model file's `MODEL` and its
objective file's `TRAINING` (docs/design.md, "Methods").

Training, checkpoints, export, ONNX, translate and evaluate reach a method only through its entry here:
its `[model]` and `[loss]` config classes, its networks by name, its optimisers and phases, its objective
and what translates. A recipe picks one with `model.architecture`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError, did_you_mean
from .models import cyclegan as cyclegan_model
from .models import stargan as stargan_model
from .models import ugatit as ugatit_model
from .models import unit as unit_model
from .models.spec import ModelSpec
from .objectives import cyclegan as cyclegan_objective
from .objectives import stargan as stargan_objective
from .objectives import ugatit as ugatit_objective
from .objectives import unit as unit_objective
from .objectives.spec import TrainingSpec


@dataclass(frozen=True)
class Method:
    name: str
    model: ModelSpec
    training: TrainingSpec

    def __post_init__(self) -> None:
        trained = self.training.networks
        assert sorted(trained) == sorted(self.model.networks), f"{self.name}: every network trained or frozen"


METHODS: dict[str, Method] = {
    "stargan": Method("stargan", stargan_model.MODEL, stargan_objective.TRAINING),
    "cyclegan": Method("cyclegan", cyclegan_model.MODEL, cyclegan_objective.TRAINING),
    "ugatit": Method("ugatit", ugatit_model.MODEL, ugatit_objective.TRAINING),
    "unit": Method("unit", unit_model.MODEL, unit_objective.TRAINING),
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"unknown model.architecture {name!r}.{did_you_mean(name, METHODS)}")
    return METHODS[name]
