"""What the two-domain imports (CycleGAN, U-GAT-IT) share: the two domains named by --from and --to, and
writing the converted generators as model files of a one-dataset label space `<from>2<to>`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ..checkpoint import ModelInfo, load_weights, save_model
from ..errors import CheckpointError
from ..labels import DatasetLabels, LabelSpace


def check_domains(source: str, target: str, what: str, example: str) -> None:
    """--from and --to name two different domains, or one line saying how (`example`: "--from horse
    --to zebra")."""
    if not source or not target or source == target:
        raise CheckpointError(f"name the two domains of {what} with --from and --to (e.g. {example})")


def write_generators(
    method: str,
    build,
    config,
    states: Mapping[str, tuple[Path, dict[str, torch.Tensor]]],
    out: str | Path,
    resize: str,
) -> list[Path]:
    """Build the method's networks for `config` (whose `domains` are the --from and --to names), load each
    role's state (read from the path given beside it, for messages) and write `<role>.safetensors` into
    `out`, with `resize`, the filter the reference's test transform scales images with."""
    source, target = config.domains
    label_space = LabelSpace((DatasetLabels(f"{source}2{target}", (source, target), "single"),))
    networks = build(config, label_space)
    written = []
    for role, (path, state) in states.items():
        load_weights(networks[role], path, state, "the model its other tensors describe (damaged or altered)")
        info = ModelInfo(method, config, label_space, 0, role, resize=resize)
        written.append(save_model(Path(out) / f"{role}.safetensors", networks[role], info))
    return written
