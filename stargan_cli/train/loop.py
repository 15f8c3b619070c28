"""The training loop, generic over architectures and datasets, on Hugging Face Accelerate.

One step = for each dataset of the label space: one discriminator update, and when the step is the
n_critic-th, one generator update (the reference's alternation); step.py holds that per-batch work.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from rich.progress import TextColumn

from ..checkpoint import (
    ModelInfo,
    load_optimizer_state,
    load_weights,
    read_info,
    resume_point,
    save_model,
    save_training_state,
)
from ..config import Recipe
from ..console import info, progress, warn
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, ConfigError, StarganError
from ..images import grid, save_image, to_tensor
from ..inference import single_target_columns
from ..labels import LabelSpace
from ..models import get_architecture
from ..objectives import OBJECTIVES, Batch
from .graphs import GraphedStep, portable_state, set_learning_rate
from .progress import TrainProgress
from .rundir import new_run_dir, read_config, write_config
from .schedule import learning_rate
from .step import StepRunner, adam, match_layout
from .stream import BatchStream, draw_cross

MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


class TrainingInterrupted(StarganError):
    """Ctrl-C: a checkpoint was saved; the message says how to resume."""


@dataclass
class Result:
    run_dir: Path
    step: int
    last_logs: dict[str, float] = field(default_factory=dict)


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


def make_accelerator(recipe: Recipe) -> Accelerator:
    device = recipe.train.device
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA GPU is visible; use --set train.device=cpu")
    # Accelerate keeps its settings in a process-wide singleton; a second run in the same process (tests,
    # notebooks) with another precision must start from a clean slate. The process group is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(mixed_precision=MIXED_PRECISION[recipe.train.precision], cpu=device == "cpu")
    if accelerator.device.type == "cuda":  # fixed input sizes: let cuDNN time its algorithms once, as the
        torch.backends.cudnn.benchmark = True  # reference's main.py does
    return accelerator


def memory_format(setting: str, device: torch.device) -> torch.memory_format:
    """`train.memory_format` on `device`: auto is channels_last on a GPU, where cuDNN's bf16 and fp16
    convolutions run NHWC natively, and contiguous on the CPU, where it was slower. On the H100 the two were
    within 4% of each other (eager bf16: NHWC 684 vs 663 img/s; CUDA graphs: 1232 vs 1281; benchmarks/RESULTS.md)."""
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
        checkpoint = resume_point(run_dir)
    else:
        assert recipe is not None
        checkpoint = None
    datasets, label_space = open_datasets(recipe)
    cfg, arch = recipe.train, get_architecture(recipe.model.architecture)
    if cfg.cross_targets and len(datasets) < 2:
        raise ConfigError("train.cross_targets needs two or more datasets in data.datasets; set it to 0")
    accelerator = make_accelerator(recipe)
    set_seed(cfg.seed)
    main = accelerator.is_main_process
    if main and resume is not None and checkpoint is None:
        info(f"{run_dir} stopped before its first checkpoint: training it again from step 0")
    if resume is None:
        run_dir = new_run_dir(recipe.output.runs_dir, recipe.output.name) if main else Path()
        if main:
            write_config(run_dir, recipe)

    # 2. networks, optimisers, objective
    model_cfg = recipe.model.params
    generator, discriminator = arch.build(model_cfg, label_space.generator_dim, label_space.num_classes)
    layout = memory_format(cfg.memory_format, accelerator.device)
    generator, discriminator = (m.to(memory_format=layout) for m in (generator, discriminator))
    infos = {
        role: ModelInfo(arch.name, model_cfg, label_space, 0, role) for role in ("generator", "discriminator")
    }
    g_opt = adam(generator.parameters(), cfg.g_lr, (cfg.beta1, cfg.beta2))
    d_opt = adam(discriminator.parameters(), cfg.d_lr, (cfg.beta1, cfg.beta2))
    start, logs, opt_state = 0, {}, {}
    if checkpoint is not None:
        opt_state = load_optimizer_state(checkpoint)
        start, logs = _restore(
            checkpoint, opt_state, recipe, label_space, generator, discriminator, g_opt, d_opt
        )
    generator, discriminator, g_opt, d_opt = accelerator.prepare(generator, discriminator, g_opt, d_opt)
    if opt_state.get("scaler") and accelerator.scaler is not None:
        accelerator.scaler.load_state_dict(opt_state["scaler"])
    g_forward = torch.compile(generator) if cfg.compile_generator else generator
    objective = OBJECTIVES[arch.name](
        label_space,
        cfg.lambda_cls,
        cfg.lambda_rec,
        cfg.lambda_gp,
        cfg.augment_shift,
        cfg.lambda_id,
        cfg.fake_shift,
        cfg.fake_zoom,
    )
    run_step = StepRunner(generator, discriminator, g_opt, d_opt, objective, accelerator, g_forward)
    if cfg.cuda_graphs:
        if accelerator.num_processes > 1:
            raise ConfigError("train.cuda_graphs runs in one process; set it to false for several")
        if accelerator.device.type == "cuda":
            run_step = GraphedStep(run_step)
        elif main:
            warn("train.cuda_graphs is ignored: not training on a CUDA GPU")
    streams = [
        BatchStream(
            ds.split("train"),
            recipe.data.batch_size,
            cfg.seed,
            d,
            recipe.data.flip,
            accelerator.process_index,
            accelerator.num_processes,
            ds.name,
            recipe.data.zoom_out,
            recipe.data.shift,
        )
        for d, ds in enumerate(datasets)
    ]
    train_labels = {d: ds.split("train").labels for d, ds in enumerate(datasets)}
    fixed = _fixed_samples(datasets, recipe.data.sample_count, accelerator.device)
    last = min(cfg.steps, stop_at) if stop_at else cfg.steps

    def save(step: int) -> None:
        accelerator.wait_for_everyone()
        if main:
            g, d = accelerator.unwrap_model(generator), accelerator.unwrap_model(discriminator)
            nets = {
                "generator": (g, _at(infos["generator"], step)),
                "discriminator": (d, _at(infos["discriminator"], step)),
            }
            opt_state = {
                "g_opt": portable_state(g_opt),
                "d_opt": portable_state(d_opt),
                "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else {},
                "rng": {"torch": torch.get_rng_state()},
            }
            state = {"config_hash": recipe.hash(), "last_losses": {k: v.item() for k, v in logs.items()}}
            save_training_state(run_dir, step, nets, opt_state, state, cfg.keep_checkpoints)
            for role, (module, meta) in nets.items():
                save_model(run_dir / f"{role}.safetensors", module, meta)

    # 3. the loop
    images_per_step = recipe.data.batch_size * accelerator.num_processes * len(streams)
    with _StopFlag() as stop:
        if start == 0 and cfg.d_warmup:
            _warm_up_classifier(run_step, streams, cfg.d_warmup, accelerator.device, main, stop)
            if stop.requested:
                raise TrainingInterrupted(
                    f"interrupted during the classifier warm-up, before step 1 (nothing to save). "
                    f"Start it again with: stargan train --resume {run_dir}"
                )
        with TrainProgress(run_dir if main else None, start, cfg.steps, main) as bar:
            for step in range(start + 1, last + 1):
                g_due = step % cfg.n_critic == 0
                for opt, base in ((g_opt, cfg.g_lr), (d_opt, cfg.d_lr)):
                    set_learning_rate(opt, learning_rate(base, step - 1, cfg.steps, cfg.decay_start))
                for stream in streams:
                    draw = stream.draw(step - 1, accelerator.device)
                    others = {d: labels for d, labels in train_labels.items() if d != stream.dataset}
                    cross = draw_cross(
                        cfg.seed,
                        step - 1,
                        stream.dataset,
                        accelerator.process_index,
                        len(draw.x_real),
                        cfg.cross_targets,
                        others,
                        accelerator.device,
                    )
                    batch = Batch(draw.x_real, stream.dataset, draw.labels_org, draw.labels_trg, cross)
                    logs.update(run_step(batch, draw.alpha, g_due))
                # bookkeeping: logs, samples, checkpoints
                lr = learning_rate(cfg.g_lr, step, cfg.steps, cfg.decay_start)
                if step % cfg.log_every == 0 or step == last:
                    reduced = {
                        k: accelerator.reduce(v.float(), "mean").item() for k, v in sorted(logs.items())
                    }
                    bar.log(step, reduced, lr, images_per_step)
                else:
                    bar.advance(step, images_per_step)
                if main and (step % cfg.sample_every == 0 or step == last):
                    _save_samples(
                        run_dir / "samples" / f"step-{step:07d}.png",
                        generator,
                        discriminator,
                        accelerator,
                        fixed,
                        label_space,
                    )
                if step % cfg.checkpoint_every == 0 or step == last:
                    save(step)
                elif stop.requested:
                    save(step)
                    raise TrainingInterrupted(
                        f"interrupted at step {step}; checkpoint saved in {run_dir}/checkpoints. "
                        f"Continue with: stargan train --resume {run_dir}"
                    )
    return Result(run_dir, last, bar.last_logs)


def _warm_up_classifier(
    run_step: StepRunner, streams: list[BatchStream], steps: int, device, main: bool, stop: _StopFlag
) -> None:
    """`steps` updates of D's classifier on real images of every dataset, before the first step. The
    batches are those of the first `steps` steps (the same seeded draws; a warm-up has no state to save:
    after a Ctrl-C it returns early and the run starts again from step 0)."""
    with progress(TextColumn("D/cls {task.fields[cls]}"), enabled=main) as bar:
        task = bar.add_task("classifier warm-up", total=steps, cls="-")
        for step in range(steps):
            if stop.requested:
                return
            losses = []
            for stream in streams:
                draw = stream.draw(step, device)
                batch = Batch(draw.x_real, stream.dataset, draw.labels_org, draw.labels_trg)
                losses.append(run_step.warm_up_classifier(batch)["D/cls"])
            if (
                step + 1
            ) % 50 and step + 1 < steps:  # reading the losses waits for the device: not every step
                bar.advance(task)
            else:
                bar.update(task, advance=1, cls=" ".join(f"{v.item():.3f}" for v in losses))
    # Adam's moments fitted to the classification gradients alone would turn the first adversarial
    # gradients, much larger, into steps far beyond the learning rate (measured: D/cls 10 at step 50)
    run_step.d_opt.state.clear()


def _at(meta: ModelInfo, step: int) -> ModelInfo:
    return ModelInfo(meta.architecture, meta.config, meta.label_space, step, meta.role)


def _restore(
    checkpoint: Path,
    opt_state: dict,
    recipe: Recipe,
    label_space: LabelSpace,
    generator,
    discriminator,
    g_opt,
    d_opt,
) -> tuple[int, dict[str, torch.Tensor]]:
    """Load a checkpoint's networks, optimisers and RNG; returns its step and its last logged losses."""
    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    if state.get("config_hash") != recipe.hash():
        raise CheckpointError(
            f"{checkpoint} was written with another configuration than {checkpoint.parents[1]}/config.json"
        )
    for role, module in (("generator", generator), ("discriminator", discriminator)):
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
    g_opt.load_state_dict(opt_state["g_opt"])
    d_opt.load_state_dict(opt_state["d_opt"])
    for opt in (g_opt, d_opt):  # a checkpoint written in another memory layout (a GPU run resumed on a CPU)
        match_layout(opt)
    torch.set_rng_state(opt_state["rng"]["torch"])
    info(f"resuming {checkpoint.parents[1]} from step {state['step']}")
    return int(state["step"]), {k: torch.tensor(v) for k, v in state.get("last_losses", {}).items()}


def _fixed_samples(datasets: list[PreparedDataset], count: int, device: torch.device):
    """The first `count` test images of every dataset (train images where there is no test split)."""
    fixed = []
    for d, ds in enumerate(datasets):
        split = ds.split("test") if ds.split_sizes.get("test") else ds.split("train")
        n = min(count, len(split))
        fixed.append((d, to_tensor(split.images[:n], device), torch.from_numpy(split.labels[:n]).to(device)))
    return fixed


@torch.no_grad()
def _save_samples(path: Path, generator, discriminator, accelerator, fixed, label_space: LabelSpace) -> None:
    """Fixed inputs (rows) x [input, every single target of every dataset] (columns), one PNG per dataset."""
    g, d = accelerator.unwrap_model(generator), accelerator.unwrap_model(discriminator)
    pictures = []
    with accelerator.autocast():
        for dataset, x, labels in fixed:
            columns = single_target_columns(g, d, x, label_space, {dataset: labels})
            pictures.append(grid([x] + [images for _, images in columns]))
    width = max(p.shape[1] for p in pictures)
    padded = [np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in pictures]
    save_image(np.concatenate(padded, axis=0), path)
