"""Live views of a run through Accelerate's experiment trackers (`train.log_with`).

TensorBoard writes into the run directory (`runs/<run>/tensorboard/`, so `tensorboard --logdir runs` shows
every run); Weights & Biases and MLflow use their own stores as Accelerate sets them up. Every tracker gets
the scalars of metrics.jsonl under the same names (`D/real`, `G/cycle_A`, `lr`, `images/s`), the sample grid
as an image at each sample step, and the resolved recipe as hyperparameters. Only the main process logs.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
from accelerate import Accelerator

from ..errors import ConfigError, did_you_mean

# tracker -> (module that must import, what to install)
TRACKERS = {
    "tensorboard": ("tensorboard", 'pip install -e ".[tensorboard]"'),
    "wandb": ("wandb", "pip install wandb"),
    "mlflow": ("mlflow", "pip install mlflow"),
}


def check(names: tuple[str, ...]) -> None:
    """Refuse unknown trackers and those whose package is not installed, with the command that installs it."""
    for name in names:
        if name not in TRACKERS:
            raise ConfigError(f"train.log_with: unknown tracker {name!r}.{did_you_mean(name, TRACKERS)}")
        module, install = TRACKERS[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"train.log_with = [{name!r}] needs the {module} package: {install}")


def flat(config: dict, prefix: str = "") -> dict[str, str | int | float | bool]:
    """A nested recipe as `section.key` hyperparameters (lists as JSON text)."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        elif isinstance(value, bool | int | float | str):
            out[f"{prefix}{key}"] = value
        else:
            out[f"{prefix}{key}"] = json.dumps(value)
    return out


def start(accelerator: Accelerator, names: tuple[str, ...], run_dir: Path, config: dict) -> None:
    """Open the trackers on the main process (a resumed run appends to the same logs)."""
    if not names or not accelerator.is_main_process:
        return
    from accelerate.tracking import TensorBoardTracker

    accelerator.project_configuration.logging_dir = str(run_dir)
    accelerator.log_with = [
        TensorBoardTracker("tensorboard", run_dir) if name == "tensorboard" else name for name in names
    ]
    accelerator.trackers = []
    accelerator.init_trackers(run_dir.name, config=flat(config))


def log_picture(accelerator: Accelerator, name: str, picture: np.ndarray, step: int) -> None:
    """One (H, W, 3) uint8 picture to every tracker that takes images."""
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.log_images({name: picture[None]}, step, dataformats="NHWC")
        elif hasattr(tracker, "log_images"):
            tracker.log_images({name: [picture]}, step)


def finish(accelerator: Accelerator) -> None:
    for tracker in accelerator.trackers:
        tracker.finish()
    accelerator.trackers = []
