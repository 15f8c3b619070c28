"""ONNX: export a run's networks with their metadata, check them through onnxruntime, and run them.

`stargan export RUN --format onnx` writes one `<network>.onnx` per network the method exports, with the
inputs and outputs its model file's signatures name (StarGAN: generator.onnx with inputs `image`
(B,3,H,W) in [-1, 1] and `label` (B, generator labels) and output `translated`; discriminator.onnx with
input `image` and outputs `patch` and `logits`), a dynamic batch, and the same `stargan.*` metadata as
the safetensors files (method, label space, sizes, step) in the ONNX metadata_props. Each file is written under a temporary
name, compared with PyTorch on random inputs of another batch size than the export's, and only kept
when the largest difference is below 1e-4. `translate --model generator.onnx` runs through
onnxruntime (the `onnx` extra: onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import ModelInfo, parse_info
from .errors import CheckpointError
from .files import replaced

TOLERANCE = 1e-4


def _require() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise CheckpointError(
            "ONNX needs the onnx extra: pip install -e '.[onnx]' (onnx, onnxscript, onnxruntime)"
        ) from None


def signature_of(info: ModelInfo):
    """The call of the file's role: an exported network's, or a whole path's (ModelSpec.onnx_graphs)."""
    model = info.method.model
    return (
        model.onnx_graphs[info.role].signature
        if info.role in model.onnx_graphs
        else model.signatures[info.role]
    )


def _inputs(info: ModelInfo, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    return signature_of(info).example(
        info.config, info.label_space, batch, torch.Generator().manual_seed(seed)
    )


def _session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_onnx(module: nn.Module, info: ModelInfo, path: Path) -> float:
    """Write `module` as ONNX at `path` and return the parity check's max |difference| with PyTorch."""
    _require()
    import onnx

    role = info.role
    signature = signature_of(info)
    inputs, outputs = list(signature.inputs), list(signature.outputs)
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple({0: batch} for _ in inputs)  # by position: the forward's own argument names vary
    module = module.eval()
    with replaced(path) as tmp:  # nothing is left behind when the export or the check fails
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", UserWarning)  # the exporter's notes on naming the batch axis
            torch.onnx.export(
                module,
                _inputs(info, 2, 0),
                str(tmp),
                input_names=inputs,
                output_names=outputs,
                dynamic_shapes=dynamic,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        model = onnx.load(str(tmp))
        for key, value in info.metadata().items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(tmp))
        diff = 0.0
        session = _session(tmp)
        for batch_size, seed in ((1, 1), (3, 2)):
            args = _inputs(info, batch_size, seed)
            got = session.run(None, {n: a.numpy() for n, a in zip(inputs, args, strict=True)})
            with torch.no_grad():
                want = module(*args)
            want = want if isinstance(want, tuple) else (want,)
            diff = max(diff, *(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want, strict=True)))
        if not diff < TOLERANCE:
            raise CheckpointError(
                f"the ONNX {role} differs from PyTorch by {diff:g} (limit {TOLERANCE:g}); nothing was written"
            )
    return diff


ONNX_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


class OnnxNetwork:
    """An ONNX network called like the PyTorch one, positionally: one output is returned as a tensor,
    several as a tuple (StarGAN: generator(x, c) -> image; discriminator(x) -> (patch, logits)). Each input
    is given in the type the graph declares (float32 images and labels, integer indices such as a domain)."""

    def __init__(self, path: Path) -> None:
        self.session = _session(path)
        self.inputs = [(i.name, ONNX_TYPES.get(i.type, np.float32)) for i in self.session.get_inputs()]

    def __call__(self, *args: torch.Tensor):
        device = args[0].device
        feed = {
            name: (a.detach().float() if a.is_floating_point() else a.detach()).cpu().numpy().astype(kind)
            for (name, kind), a in zip(self.inputs, args, strict=True)
        }
        out = [torch.from_numpy(o).to(device) for o in self.session.run(None, feed)]
        return out[0] if len(out) == 1 else tuple(out)

    def eval(self) -> OnnxNetwork:
        return self

    def to(self, _device) -> OnnxNetwork:
        return self


def load_onnx(path: Path, role: str) -> tuple[OnnxNetwork, ModelInfo]:
    _require()
    import onnx

    if not path.is_file():
        raise CheckpointError(f"model file {path} not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds for damaged files
        raise CheckpointError(f"{path} is not a readable ONNX file ({exc.__class__.__name__})") from None
    info = parse_info({p.key: p.value for p in model.metadata_props}, path)
    if info.role != role:
        raise CheckpointError(f"{path} holds a {info.role}, expected a {role}")
    return OnnxNetwork(path), info
