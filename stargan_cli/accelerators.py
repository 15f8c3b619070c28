"""The one place that makes Hugging Face Accelerate's `Accelerator` for training and evaluation.

Accelerate keeps its settings (device, precision, processes) in a process-wide singleton: a second
Accelerator with other settings in the same process (tests, notebooks, `evaluate` after `train`) would
silently inherit the first one's. Accelerate has no public way to start over, so this module calls its
private reset, as Hugging Face's own Trainer does; pinned here so an Accelerate upgrade that changes it
breaks one function (tests/test_train.py runs fp32, bf16 and fp16 trainings in one process).
"""

from __future__ import annotations

from accelerate import Accelerator
from accelerate.state import AcceleratorState


def fresh_accelerator(keep_process_group: bool = True, **settings) -> Accelerator:
    """An Accelerator with exactly `settings`. With `keep_process_group`, the state of the processes
    (rank, world, an initialised process group) is kept and only the Accelerator's own settings reset."""
    AcceleratorState._reset_state(reset_partial_state=not keep_process_group)
    return Accelerator(**settings)


def native_bf16(device_type: str) -> str:
    """What computes bf16 natively on this machine's `device_type` ("cpu" or "cuda"), named for the user
    (e.g. "avx512_bf16", "NVIDIA H100 80GB HBM3"), or "" where bf16 would be emulated."""
    import torch

    if device_type == "cuda":
        return torch.cuda.get_device_name() if torch.cuda.is_bf16_supported(including_emulation=False) else ""
    found = [
        name
        for name, check in (
            ("amx_bf16", "_is_amx_tile_supported"),
            ("avx512_bf16", "_is_avx512_bf16_supported"),
        )
        if getattr(torch.cpu, check, lambda: False)()
    ]
    return found[0] if found else ""


def resolve_precision(setting: str, device_type: str) -> tuple[str, str]:
    """`train.precision` -> (fp32 | bf16 | fp16, why). "auto" is bf16 autocast where the device computes
    bf16 natively (the demo's speed-up is in benchmarks/RESULTS.md) and fp32 elsewhere, where emulated
    bf16 gains nothing; any other setting is taken as it is (why = "")."""
    if setting != "auto":
        return setting, ""
    native = native_bf16(device_type)
    if native:
        return "bf16", f"auto: {native} computes bf16 natively"
    return "fp32", f"auto: this {'GPU' if device_type == 'cuda' else 'CPU'} has no native bf16"


def describe(accelerator: Accelerator, precision: str, batch: int) -> str:
    """One line saying what is running: devices, processes, precision, batch per process."""
    import torch

    device = accelerator.device
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    n = accelerator.num_processes
    where = (
        f"{n} processes ({accelerator.distributed_type.value}), each on {device.type} ({name})"
        if n > 1
        else f"1 process on {device} ({name})"
    )
    return f"{where}; {precision}; batch {batch} per process, {batch * n} in all"


def check_device(name: str, allow_auto: bool = False) -> str:
    """A `--device` value that exists on this machine (cpu, cuda, cuda:N; auto where allowed), else one line
    saying what does."""
    import torch

    from .errors import ConfigError

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    here = ["cpu"] + (["cuda"] + [f"cuda:{i}" for i in range(count)] if count else [])
    if allow_auto:
        here.append("auto")
    if name in here:
        return name
    gpus = f"{count} CUDA GPU(s)" if count else "no CUDA GPU"
    raise ConfigError(f"--device {name}: this machine has {gpus}; use one of {', '.join(here)}")


def free_memory(device) -> int:
    """Bytes free for new tensors on `device`: the GPU's free memory, or the host's available memory."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    import psutil

    return psutil.virtual_memory().available
