"""The training loop, generic over methods and datasets, on Hugging Face Accelerate.

One step = for each dataset of the label space, one batch and the updates the method's objective asks
for at that step (StarGAN: D every step, G every n_critic-th, the reference's alternation); step.py
holds that per-batch work. The loop owns what every method shares: devices and precision, one Adam per
optimiser group with its schedule, checkpoints of every network, logs, sample grids and resume.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from ..accelerators import describe, fresh_accelerator, resolve_precision
from ..checkpoint import (
    EMA_SUFFIX,
    RESIZE_FILTERS,
    ModelInfo,
    load_optimizer_state,
    load_weights,
    read_info,
    resume_point,
    save_model,
    save_training_state,
)
from ..config import Recipe
from ..console import info, warn
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, ConfigError, StarganError
from ..files import failpoint
from ..images import grid, save_image, to_tensor
from ..inference import covered_rows, single_target_columns
from ..labels import LabelSpace
from ..methods import get_method
from ..models.spec import Translator
from ..objectives.spec import ObjectiveContext
from . import memory, trackers
from .ema import EMA
from .graphs import GraphedStep, portable_state, set_learning_rate
from .progress import TrainProgress
from .rundir import new_run_dir, read_config, run_config_hash, write_config
from .schedule import learning_rate
from .step import StepRunner, adam, match_layout
from .stream import BatchStream

MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}
# per optimiser group: its learning rate's setting, and its key in a checkpoint's optimizer.pt
LEARNING_RATES = {"generator": "g_lr", "discriminator": "d_lr"}
OPTIMIZER_KEYS = {"generator": "g_opt", "discriminator": "d_opt"}


class TrainingInterrupted(StarganError):
    """Ctrl-C: a checkpoint was saved; the message says how to resume."""


class TrainingDiverged(StarganError):
    """The losses became NaN or infinite: training stops without saving, the earlier checkpoints intact."""


MAX_PARAMETERS = (
    2_000_000_000  # beyond this a recipe is a typo, not a model (16 GB of weights and Adam state)
)


def check_size(method, model_config, label_space: LabelSpace) -> dict[str, torch.nn.Module]:
    """Count the networks' parameters without allocating them (on the meta device) and refuse absurd sizes.
    Returns the meta networks (the memory estimate runs a step on them)."""
    with torch.device("meta"):
        built = method.model.build(model_config, label_space)
    total = sum(p.numel() for net in built.values() for p in net.parameters())
    if total > MAX_PARAMETERS:
        settings = ", ".join(f"model.{k} = {v}" for k, v in vars(model_config).items() if isinstance(v, int))
        raise ConfigError(
            f"these networks would have {total / 1e9:.1f} billion parameters ({total * 16 / 2**30:,.0f} GiB with "
            f"Adam's state); check the model sizes ({settings})"
        )
    return built


def _check_finite(logs: dict[str, float], step: int, run_dir: Path) -> None:
    bad = {k: v for k, v in logs.items() if not np.isfinite(v)}
    if bad:
        named = ", ".join(f"{k} = {v}" for k, v in bad.items())
        raise TrainingDiverged(
            f"training diverged at step {step}: {named}; nothing was saved after it, the checkpoints in "
            f"{run_dir}/checkpoints are intact. Lower train.g_lr / train.d_lr or the [loss] weights and start again"
        )


@dataclass
class Result:
    run_dir: Path
    step: int
    last_logs: dict[str, float] = field(default_factory=dict)
    main: bool = True  # False on the other processes of a multi-process run (they have no run directory)


def open_datasets(recipe: Recipe) -> tuple[list[PreparedDataset], LabelSpace]:
    datasets = [PreparedDataset(path) for path in recipe.data.datasets]
    size = recipe.model.params.image_size
    for ds in datasets:
        if ds.image_size != size:
            raise ConfigError(
                f"{ds.root} holds {ds.image_size} px images but model.image_size is {size}; "
                f"use --set model.image_size={ds.image_size} or prepare the data with --size {size}"
            )
    return datasets, LabelSpace(tuple(ds.labels for ds in datasets))


def training_device(setting: str) -> str:
    """`train.device` -> the device type training will use ("cpu" or "cuda")."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA GPU is visible; use --set train.device=cpu")
    return "cuda" if setting != "cpu" and torch.cuda.is_available() else "cpu"


def make_accelerator(recipe: Recipe) -> Accelerator:
    """The run's Accelerator (`recipe.train.precision` resolved: not "auto")."""
    device = recipe.train.device
    training_device(device)
    accelerator = fresh_accelerator(
        mixed_precision=MIXED_PRECISION[recipe.train.precision], cpu=device == "cpu"
    )
    if accelerator.device.type == "cuda":  # fixed input sizes: let cuDNN time its algorithms once, as the
        torch.backends.cudnn.benchmark = True  # reference's main.py does
    return accelerator


def memory_format(setting: str, device: torch.device) -> torch.memory_format:
    """`train.memory_format` on `device`: auto is channels_last on a GPU, where cuDNN's bf16 and fp16
    convolutions run NHWC natively, and contiguous on the CPU, where it was slower (both measured in
    benchmarks/RESULTS.md)."""
    if setting == "auto":
        setting = "channels_last" if device.type == "cuda" else "contiguous"
    return torch.channels_last if setting == "channels_last" else torch.contiguous_format


class _StopFlag:
    """First Ctrl-C asks the loop to stop after the current step (and save); a second one aborts."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _StopFlag:
        self._previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def train(
    recipe: Recipe | None = None,
    resume: str | Path | None = None,
    stop_at: int | None = None,
) -> Result:
    """Train `recipe` in a new run directory, or continue the run `resume` from its last checkpoint.

    `stop_at` ends the run after that step with a checkpoint, as an interruption would (for tests).
    """
    # 1. configuration, run directory, data
    if resume is not None:
        run_dir = Path(resume)
        recipe = read_config(run_dir)
        config_id = run_config_hash(run_dir)
        checkpoint = resume_point(run_dir)
    else:
        assert recipe is not None
        config_id, checkpoint = recipe.hash(), None
    datasets, label_space = open_datasets(recipe)
    cfg, method = recipe.train, get_method(recipe.model.architecture)
    trackers.check(cfg.log_with)
    shapes = check_size(method, recipe.model.params, label_space)
    precision, why = resolve_precision(cfg.precision, training_device(cfg.device))
    resolved = dataclasses.replace(recipe, train=dataclasses.replace(cfg, precision=precision))
    accelerator = make_accelerator(resolved)
    set_seed(cfg.seed)
    main = accelerator.is_main_process
    if main:
        said = f"{precision} ({why})" if why else precision
        info(f"training {recipe.model.architecture} on {describe(accelerator, said, recipe.data.batch_size)}")
    train_labels = {d: ds.split("train").labels for d, ds in enumerate(datasets)}
    sources = method.training.streams(recipe.model.params, label_space, train_labels)  # checks the data
    guess = memory.estimate(method, resolved, label_space, [s.dataset for s in sources], shapes)
    if guess is not None:  # a run the GPU cannot hold stops here, before its run directory exists
        advice = memory.check(guess, accelerator.device, method.model.memory_hint(recipe.model.params))
        if main:
            info(f"memory: {guess.describe()}")
            if advice:
                warn(advice)
    rank, processes = accelerator.process_index, accelerator.num_processes
    context = ObjectiveContext(label_space, train_labels, cfg.seed, rank, processes, accelerator.device)
    objective = method.training.objective(recipe.loss, context)
    streams = [
        BatchStream(
            datasets[s.dataset].split("train"),
            recipe.data.batch_size,
            cfg.seed,
            s.dataset,
            recipe.data.flip,
            rank,
            processes,
            s.name,
            recipe.data.zoom_out,
            recipe.data.shift,
            subset=s.rows,
            key=k,
            zoom_in=recipe.data.load_size / recipe.model.params.image_size if recipe.data.load_size else 1.0,
        )
        for k, s in enumerate(sources)
    ]
    if main and resume is not None and checkpoint is None:
        info(f"{run_dir} stopped before its first checkpoint: training it again from step 0")
    if resume is None:
        run_dir = new_run_dir(recipe.output.runs_dir, recipe.output.name) if main else Path()
        if main:
            write_config(run_dir, recipe)

    # 2. networks, optimisers
    model_cfg = recipe.model.params
    layout = memory_format(cfg.memory_format, accelerator.device)
    built = method.model.build(model_cfg, label_space)
    networks = {name: net.to(memory_format=layout) for name, net in built.items()}
    resize = datasets[0].manifest.get("preprocessing", {}).get("resize", "")
    info0 = ModelInfo(
        method.name, model_cfg, label_space, 0, "", resize=resize if resize in RESIZE_FILTERS else ""
    )
    groups = method.training.groups
    optimizers = {
        group: adam(  # each parameter once: a method's networks may share some (UNIT's shared layers)
            list(dict.fromkeys(itertools.chain.from_iterable(networks[n].parameters() for n in names))),
            getattr(cfg, LEARNING_RATES[group]),
            (cfg.beta1, cfg.beta2),
            cfg.weight_decay,
        )
        for group, names in groups.items()
    }
    start, logs, opt_state, state = 0, {}, {}, {}
    if checkpoint is not None:
        opt_state = load_optimizer_state(checkpoint)
        state = _restore(checkpoint, opt_state, recipe, config_id, label_space, networks, optimizers)
        objective.load_state_dict(opt_state.get("objective", {}))
        start = int(state["step"])
        logs = {k: torch.tensor(v) for k, v in state.get("last_losses", {}).items()}
    prepared = accelerator.prepare(*networks.values(), *optimizers.values())
    networks = dict(zip(networks, prepared[: len(networks)], strict=True))
    optimizers = dict(zip(optimizers, prepared[len(networks) :], strict=True))
    if opt_state.get("scaler") and accelerator.scaler is not None:
        accelerator.scaler.load_state_dict(opt_state["scaler"])
    plain = {name: accelerator.unwrap_model(net) for name, net in networks.items()}  # without DDP's wrapper
    ema = None
    if cfg.ema:  # a moving average of every network the generator group updates, on the same device
        ema = EMA({n: plain[n] for n in groups.get("generator", ())}, cfg.ema, state.get("ema_updates", 0))
        if checkpoint is not None:
            for name, average in ema.networks.items():
                load_weights(average, checkpoint / f"{name}{EMA_SUFFIX}.safetensors")
    forward = dict(networks)
    if cfg.compile_generator:  # never a discriminator: torch.compile cannot double-backward
        forward.update({n: torch.compile(networks[n]) for n in groups.get("generator", ())})
    run_step = StepRunner(forward, optimizers, objective, accelerator)
    if cfg.cuda_graphs:
        if accelerator.num_processes > 1:
            raise ConfigError("train.cuda_graphs runs in one process; set it to false for several")
        if accelerator.device.type == "cuda":
            run_step = GraphedStep(run_step)
        elif main:
            warn("train.cuda_graphs is ignored: not training on a CUDA GPU")
    last = min(cfg.steps, stop_at) if stop_at else cfg.steps

    # what samples use: the averages in place of the generators when EMA is on
    inference_networks = plain | (ema.networks if ema is not None else {})
    sampler = method.model.translator(inference_networks, label_space, model_cfg)
    fixed = _fixed_samples(datasets, recipe.data.sample_count, accelerator.device, sampler)

    def save(step: int) -> None:
        accelerator.wait_for_everyone()
        if main:
            nets = {name: (net, info0.at(step, name)) for name, net in plain.items()}
            averages = ema.networks.items() if ema is not None else ()
            nets |= {f"{n}{EMA_SUFFIX}": (net, info0.at(step, n, "ema")) for n, net in averages}
            opt_state = {OPTIMIZER_KEYS[group]: portable_state(opt) for group, opt in optimizers.items()}
            opt_state["scaler"] = accelerator.scaler.state_dict() if accelerator.scaler is not None else {}
            opt_state["rng"] = {"torch": torch.get_rng_state()}
            opt_state["objective"] = objective.state_dict()
            state = {"config_hash": config_id, "last_losses": {k: v.item() for k, v in logs.items()}}
            if ema is not None:
                state["ema_updates"] = ema.updates
            save_training_state(run_dir, step, nets, opt_state, state, cfg.keep_checkpoints)
            failpoint(f"checkpoint-{step}-saved")  # the checkpoint complete, the inference files not yet
            export_models(step)

    def export_models(step: int) -> None:
        """The run's inference files (`<role>.safetensors`), the averages where EMA is on."""
        for role in method.model.exported:
            averaged = ema is not None and role in ema.networks
            net = ema.networks[role] if averaged else plain[role]
            save_model(
                run_dir / f"{role}.safetensors", net, info0.at(step, role, "ema" if averaged else "trained")
            )

    # 3. the loop
    if checkpoint is not None and start >= last and main:  # killed after the last checkpoint, before the
        export_models(start)  # inference files were rewritten: write them from it
    images_per_step = recipe.data.batch_size * processes * len(streams)

    def rate(base: float, done: int) -> float:
        return learning_rate(base, done, cfg.steps, cfg.decay_start, cfg.lr_step, cfg.lr_gamma)

    trackers.start(accelerator, cfg.log_with, run_dir, recipe.to_dict())
    with (
        _StopFlag() as stop,
        TrainProgress(run_dir if main else None, start, cfg.steps, main) as bar,
        _closing(accelerator),
    ):
        for step in range(start + 1, last + 1):
            phases = objective.phases(step)
            for group, opt in optimizers.items():
                set_learning_rate(opt, rate(getattr(cfg, LEARNING_RATES[group]), step - 1))
            draws = [stream.draw(step - 1, accelerator.device, objective.draw) for stream in streams]
            for batch in objective.batches(draws, step):
                logs.update(run_step(batch, phases))
                if ema is not None and "generator" in phases:
                    ema.update(plain)
            # bookkeeping: logs, samples, checkpoints
            lr = rate(cfg.g_lr, step)
            due = step % cfg.checkpoint_every == 0 or step == last
            reduced = None  # the logs averaged over processes, once per step that needs them
            if step % cfg.log_every == 0 or step == last or due or stop.requested:
                reduced = {k: accelerator.reduce(v.float(), "mean").item() for k, v in sorted(logs.items())}
                _check_finite(reduced, step, run_dir)  # never a log or checkpoint of NaN losses
            if step % cfg.log_every == 0 or step == last:
                record = bar.log(step, reduced, lr, images_per_step)
                accelerator.log({k: v for k, v in record.items() if k != "step"}, step=step)
            else:
                bar.advance(step, images_per_step)
            if main and (step % cfg.sample_every == 0 or step == last):
                path = run_dir / "samples" / f"step-{step:07d}.png"
                picture = _save_samples(path, sampler, accelerator, fixed)
                trackers.log_picture(accelerator, "samples", picture, step)
            if due or stop.requested:
                save(step)
                if not due:
                    raise TrainingInterrupted(
                        f"interrupted at step {step}; checkpoint saved in {run_dir}/checkpoints. "
                        f"Continue with: stargan train --resume {run_dir}"
                    )
    return Result(run_dir, last, bar.last_logs, main)


def _restore(
    checkpoint: Path,
    opt_state: dict,
    recipe: Recipe,
    config_id: str,
    label_space: LabelSpace,
    networks: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict:
    """Load a checkpoint's networks, optimisers and RNG; returns its state.json (step, last losses, ...)."""
    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    if state.get("config_hash") != config_id:
        raise CheckpointError(
            f"{checkpoint} was written with another configuration than {checkpoint.parents[1]}/config.json"
        )
    for role, module in networks.items():
        meta = read_info(checkpoint / f"{role}.safetensors")
        if meta.label_space != label_space:
            raise CheckpointError(
                f"{checkpoint} was trained on label space {meta.label_space.describe()}, but the datasets now give "
                f"{label_space.describe()}; restore the original datasets or start a new run"
            )
        if meta.architecture != recipe.model.architecture or meta.config != recipe.model.params:
            raise CheckpointError(
                f"{checkpoint} holds a different architecture or size than the run's config.json"
            )
        load_weights(module, checkpoint / f"{role}.safetensors")
    for group, opt in optimizers.items():
        opt.load_state_dict(opt_state[OPTIMIZER_KEYS[group]])
        match_layout(opt)  # a checkpoint written in another memory layout (a GPU run resumed on a CPU)
    torch.set_rng_state(opt_state["rng"]["torch"])
    info(f"resuming {checkpoint.parents[1]} from step {state['step']}")
    return state


def _fixed_samples(datasets: list[PreparedDataset], count: int, device: torch.device, translator: Translator):
    """The first `count` test images of every dataset (train images where there is no test split) that the
    method has a target for (a two-domain model: the images of its two domains)."""
    fixed = []
    for d, ds in enumerate(datasets):
        split = ds.split("test") if ds.split_sizes.get("test") else ds.split("train")
        rows = covered_rows(translator, d, split.labels)[:count]
        fixed.append(
            (d, to_tensor(split.images[rows], device), torch.from_numpy(split.labels[rows]).to(device))
        )
    return fixed


@torch.no_grad()
def _save_samples(path: Path, translator: Translator, accelerator, fixed) -> np.ndarray:
    """Fixed inputs (rows) x [input, every single target of every dataset] (columns), one PNG per dataset."""
    pictures = []
    with accelerator.autocast():
        for dataset, x, labels in fixed:
            columns = single_target_columns(translator, x, {dataset: labels}, attention=True)
            pictures.append(grid([x] + [images for _, images in columns]))
    width = max(p.shape[1] for p in pictures)
    padded = [np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in pictures]
    picture = np.concatenate(padded, axis=0)
    save_image(picture, path)
    return picture


@contextlib.contextmanager
def _closing(accelerator: Accelerator):
    """Close the trackers however the loop ends (finished, interrupted, failed)."""
    try:
        yield
    finally:
        trackers.finish(accelerator)
