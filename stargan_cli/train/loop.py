"""The training loop, generic over methods and datasets, on Hugging Face Accelerate.

One step = for each dataset of the label space, one batch and the updates the method's objective asks
for at that step (StarGAN: D every step, G every n_critic-th, the reference's alternation); step.py
holds that per-batch work. The loop owns what every method shares: devices and precision, the Adam
optimisers the method declares, each on its schedule, checkpoints of every network, logs, sample grids and resume.
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
from ..inference import covered_rows, sample_columns
from ..labels import LabelSpace
from ..methods import get_method
from ..models.spec import Translator
from ..objectives.spec import ObjectiveContext
from . import memory, trackers
from .ema import EMA
from .graphs import compiled, graphed, portable_state, set_learning_rate
from .progress import TrainProgress
from .rundir import new_run_dir, read_config, run_config_hash, write_config
from .schedule import learning_rate
from .step import StepRunner, adam, match_layout
from .stream import BalancedStream, BatchStream

MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


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
class TrainResult:
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
    """The run's Accelerator (`recipe.train.precision` resolved, not "auto"; `recipe.train.device` checked
    by training_device)."""
    device = recipe.train.device
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
) -> TrainResult:
    """Train `recipe` in a new run directory, or continue the run `resume` from its last checkpoint.

    `stop_at` ends the run after that step with a checkpoint, as an interruption would (for tests).
    """
    return Trainer(recipe, resume).run(stop_at)


class Trainer:
    """One training run, read top to bottom: `__init__` sets it up (configuration, data, networks,
    optimisers, a checkpoint to resume from), `run` loops over the steps, and each step is `step` (the
    updates), then `log`, `sample` and `save` when due.

    The order of random draws (docs/design.md, "Methods"): the seed is set before the networks are built
    (their initialisation draws from torch's generator), every batch's draws come from its own generator
    seeded by (seed, step, stream, rank) (stream.py), and torch's generator is saved in every checkpoint for
    what a loss draws inside a step. Nothing here may draw anything else, or the golden runs change."""

    def __init__(self, recipe: Recipe | None, resume: str | Path | None = None) -> None:
        self._configure(recipe, resume)
        self._open_data()
        self._build()

    # ----- set-up ------------------------------------------------------------------------------------------
    def _configure(self, recipe: Recipe | None, resume: str | Path | None) -> None:
        """The recipe (a run's own config.json when resuming), its method, the accelerator."""
        self.resume = resume
        if resume is not None:
            self.run_dir = Path(resume)
            recipe = read_config(self.run_dir)
            self.config_id = run_config_hash(self.run_dir)
            self.checkpoint = resume_point(self.run_dir)
        else:
            assert recipe is not None
            self.config_id, self.checkpoint = recipe.hash(), None
        self.recipe = recipe
        self.datasets, self.label_space = open_datasets(recipe)
        self.cfg, self.method = recipe.train, get_method(recipe.model.architecture)
        trackers.check(self.cfg.log_with)
        self.shapes = check_size(self.method, recipe.model.params, self.label_space)
        precision, why = resolve_precision(self.cfg.precision, training_device(self.cfg.device))
        self.resolved = dataclasses.replace(recipe, train=dataclasses.replace(self.cfg, precision=precision))
        self.accelerator = make_accelerator(self.resolved)
        set_seed(self.cfg.seed)
        self.main = self.accelerator.is_main_process
        if self.main:
            said = f"{precision} ({why})" if why else precision
            where = describe(self.accelerator, said, recipe.data.batch_size)
            info(f"training {recipe.model.architecture} on {where}")

    def _open_data(self) -> None:
        """The method's data streams (checked before a run directory exists), the memory estimate, the
        objective, and the run directory of a new run."""
        recipe, cfg, method, accelerator = self.recipe, self.cfg, self.method, self.accelerator
        train_labels = {d: ds.split("train").labels for d, ds in enumerate(self.datasets)}
        sources = method.training.streams(recipe.model.params, self.label_space, train_labels)
        guess = memory.estimate(
            method, self.resolved, self.label_space, [s.dataset for s in sources], self.shapes
        )
        if guess is not None:  # a run the GPU cannot hold stops here, before its run directory exists
            advice = memory.check(guess, accelerator.device, method.model.memory_hint(recipe.model.params))
            if self.main:
                info(f"memory: {guess.describe()}")
                if advice:
                    warn(advice)
        rank, self.processes = accelerator.process_index, accelerator.num_processes
        context = ObjectiveContext(self.label_space, train_labels, cfg.seed, rank, self.processes,
                                   accelerator.device, recipe.model.params)  # fmt: skip
        self.objective = method.training.objective(recipe.loss, context)
        self.streams = [self._stream(k, s, rank) for k, s in enumerate(sources)]
        if self.main and self.resume is not None and self.checkpoint is None:
            info(f"{self.run_dir} stopped before its first checkpoint: training it again from step 0")
        if self.resume is None:
            self.run_dir = new_run_dir(recipe.output.runs_dir, recipe.output.name) if self.main else Path()
            if self.main:
                write_config(self.run_dir, recipe)

    def _stream(self, key: int, source, rank: int) -> BatchStream:
        """A data stream of the method's (objectives/spec.py Stream): rows of a dataset, or class-balanced
        over domains with references."""
        recipe, cfg, data = self.recipe, self.cfg, self.recipe.data
        zoom_in = data.load_size / recipe.model.params.image_size if data.load_size else 1.0
        split = self.datasets[source.dataset].split("train")
        options = dict(rank=rank, world=self.processes, name=source.name, zoom_out=data.zoom_out,
                       shift=data.shift, key=key, zoom_in=zoom_in, resized_crop=data.resized_crop)  # fmt: skip
        if source.domains is not None:
            return BalancedStream(split, data.batch_size, cfg.seed, source.dataset, data.flip, source.domains,
                                  source.references, **options)  # fmt: skip
        return BatchStream(split, data.batch_size, cfg.seed, source.dataset, data.flip, subset=source.rows,
                           **options)  # fmt: skip

    def _build(self) -> None:
        """Networks (the frozen ones never trained), the method's optimisers, the checkpoint's state,
        Accelerate's wrapping, EMA, the step runner and what samples use."""
        recipe, cfg, method, accelerator = self.recipe, self.cfg, self.method, self.accelerator
        model_cfg, training = recipe.model.params, method.training
        layout = memory_format(cfg.memory_format, accelerator.device)
        built = method.model.build(model_cfg, self.label_space)
        networks = {name: net.to(memory_format=layout) for name, net in built.items()}
        for name in training.frozen:
            networks[name].requires_grad_(False).eval()
        resize = self.datasets[0].manifest.get("preprocessing", {}).get("resize", "")
        self.info0 = ModelInfo(
            method.name, model_cfg, self.label_space, 0, "", resize=resize if resize in RESIZE_FILTERS else ""
        )
        optimizers = {
            name: adam(  # each parameter once: a method's networks may share some (UNIT's shared layers)
                list(
                    dict.fromkeys(
                        itertools.chain.from_iterable(networks[n].parameters() for n in spec.networks)
                    )
                ),
                self.base_rate(spec),
                spec.betas or (cfg.beta1, cfg.beta2),
                cfg.weight_decay if spec.weight_decay is None else spec.weight_decay,
            )
            for name, spec in training.optimizers.items()
        }
        self.start, self.logs, opt_state, state = 0, {}, {}, {}
        if self.checkpoint is not None:
            opt_state = load_optimizer_state(self.checkpoint)
            keys = training.optimizer_keys()
            state = _restore(self.checkpoint, opt_state, recipe, self.config_id, self.label_space, networks,
                             {keys[name]: opt for name, opt in optimizers.items()})  # fmt: skip
            self.objective.load_state_dict(opt_state.get("objective", {}))
            self.start = int(state["step"])
            self.logs = {k: torch.tensor(v) for k, v in state.get("last_losses", {}).items()}
        prepared = accelerator.prepare(*networks.values(), *optimizers.values())
        self.networks = dict(zip(networks, prepared[: len(networks)], strict=True))
        self.optimizers = dict(zip(optimizers, prepared[len(networks) :], strict=True))
        if opt_state.get("scaler") and accelerator.scaler is not None:
            accelerator.scaler.load_state_dict(opt_state["scaler"])
        self.plain = {name: accelerator.unwrap_model(net) for name, net in self.networks.items()}  # no DDP
        self.ema = None
        if cfg.ema:  # a moving average of the networks that translate, on the same device
            self.ema = EMA({n: self.plain[n] for n in training.averaged}, cfg.ema, state.get("ema_updates", 0),
                           training.ema_ramp)  # fmt: skip
            self.ema_phases = training.averaging_phases()
            if self.checkpoint is not None:
                for name, average in self.ema.networks.items():
                    load_weights(average, self.checkpoint / f"{name}{EMA_SUFFIX}.safetensors")
        runner = StepRunner(compiled(self.networks, training.averaged, cfg), self.optimizers, self.objective,
                            accelerator, training.stepped)  # fmt: skip
        self.run_step = graphed(runner, cfg, accelerator, self.main)
        # what samples use: the averages in place of the generators when EMA is on
        inference_networks = self.plain | (self.ema.networks if self.ema is not None else {})
        self.sampler = method.model.translator(inference_networks, self.label_space, model_cfg)
        self.fixed = _fixed_samples(self.datasets, recipe.data.sample_count, accelerator.device, self.sampler)

    # ----- the loop ----------------------------------------------------------------------------------------
    def run(self, stop_at: int | None = None) -> TrainResult:
        cfg, accelerator = self.cfg, self.accelerator
        last = min(cfg.steps, stop_at) if stop_at else cfg.steps
        if self.checkpoint is not None and self.start >= last and self.main:  # killed after the last
            self.export_models(self.start)  # checkpoint, before the inference files were rewritten
        images_per_step = self.recipe.data.batch_size * self.processes * len(self.streams)
        trackers.start(accelerator, cfg.log_with, self.run_dir, self.recipe.to_dict())
        with (
            _StopFlag() as stop,
            TrainProgress(self.run_dir if self.main else None, self.start, cfg.steps, self.main) as bar,
            _closing(accelerator),
        ):
            for step in range(self.start + 1, last + 1):
                self.step(step)
                due = step % cfg.checkpoint_every == 0 or step == last
                self.log(step, bar, images_per_step, last, reduce=due or stop.requested)
                if self.main and (step % cfg.sample_every == 0 or step == last):
                    self.sample(step)
                if due or stop.requested:
                    self.save(step)
                    if not due:
                        raise TrainingInterrupted(
                            f"interrupted at step {step}; checkpoint saved in {self.run_dir}/checkpoints. "
                            f"Continue with: stargan train --resume {self.run_dir}"
                        )
        return TrainResult(self.run_dir, last, bar.last_logs, self.main)

    def rate(self, base: float, done: int) -> float:
        cfg = self.cfg
        return learning_rate(base, done, cfg.steps, cfg.decay_start, cfg.lr_step, cfg.lr_gamma)

    def base_rate(self, spec) -> float:
        """An optimiser's learning rate before the schedule: its `[train]` setting times its multiplier."""
        return getattr(self.cfg, spec.lr) * spec.lr_scale

    def step(self, step: int) -> None:
        """The objective's updates at this 1-based step, on one draw of every stream; the EMA after each
        batch whose phases stepped a network it averages."""
        phases = self.objective.phases(step)
        for name, opt in self.optimizers.items():
            set_learning_rate(opt, self.rate(self.base_rate(self.method.training.optimizers[name]), step - 1))
        draws = [
            stream.draw(step - 1, self.accelerator.device, self.objective.draw) for stream in self.streams
        ]
        for batch in self.objective.batches(draws, step):
            self.logs.update(self.run_step(batch, phases))
            if self.ema is not None and not self.ema_phases.isdisjoint(phases):
                self.ema.update(self.plain)

    def log(self, step: int, bar: TrainProgress, images_per_step: int, last: int, reduce: bool) -> None:
        """The logs averaged over processes (once per step that needs them, checked for NaN), into
        metrics.jsonl and the trackers at log steps; otherwise the progress bar moves on."""
        cfg, accelerator = self.cfg, self.accelerator
        logged = step % cfg.log_every == 0 or step == last
        if logged or reduce:
            reduced = {k: accelerator.reduce(v.float(), "mean").item() for k, v in sorted(self.logs.items())}
            _check_finite(reduced, step, self.run_dir)  # never a log or checkpoint of NaN losses
        if logged:
            record = bar.log(step, reduced, self.rate(cfg.g_lr, step), images_per_step)
            accelerator.log({k: v for k, v in record.items() if k != "step"}, step=step)
        else:
            bar.advance(step, images_per_step)

    def sample(self, step: int) -> None:
        path = self.run_dir / "samples" / f"step-{step:07d}.png"
        picture = _save_samples(path, self.sampler, self.accelerator, self.fixed)
        trackers.log_picture(self.accelerator, "samples", picture, step)

    def save(self, step: int) -> None:
        """A checkpoint of every network, its average, the optimisers, scaler, RNG and objective state, then
        the run's inference files (main process; the others wait)."""
        self.accelerator.wait_for_everyone()
        if not self.main:
            return
        nets = {name: (net, self.info0.at(step, name)) for name, net in self.plain.items()}
        averages = self.ema.networks.items() if self.ema is not None else ()
        nets |= {f"{n}{EMA_SUFFIX}": (net, self.info0.at(step, n, "ema")) for n, net in averages}
        scaler = self.accelerator.scaler
        keys = self.method.training.optimizer_keys()
        opt_state = {keys[name]: portable_state(opt) for name, opt in self.optimizers.items()}
        opt_state["scaler"] = scaler.state_dict() if scaler is not None else {}
        opt_state["rng"] = {"torch": torch.get_rng_state()}
        opt_state["objective"] = self.objective.state_dict()
        state = {"config_hash": self.config_id, "last_losses": {k: v.item() for k, v in self.logs.items()}}
        if self.ema is not None:
            state["ema_updates"] = self.ema.updates
        save_training_state(self.run_dir, step, nets, opt_state, state, self.cfg.keep_checkpoints)
        failpoint(f"checkpoint-{step}-saved")  # the checkpoint complete, the inference files not yet
        self.export_models(step)

    def export_models(self, step: int) -> None:
        """The run's inference files (`<role>.safetensors`), the averages where EMA is on."""
        for role in self.method.model.exported:
            averaged = self.ema is not None and role in self.ema.networks
            net = self.ema.networks[role] if averaged else self.plain[role]
            meta = self.info0.at(step, role, "ema" if averaged else "trained")
            save_model(self.run_dir / f"{role}.safetensors", net, meta)


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
    for key, opt in optimizers.items():  # by their keys in optimizer.pt
        if key not in opt_state:
            raise CheckpointError(f"{checkpoint}/optimizer.pt holds no state of the optimiser {key!r}; "
                                  "it was not written by this run's method")  # fmt: skip
        opt.load_state_dict(opt_state[key])
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
            columns = sample_columns(translator, x, {dataset: labels}, attention=True)
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
