"""Running a function in two CPU processes that form a gloo group, as `accelerate launch` would.

Processes are started with spawn: a forked child of a pytest process that already ran torch code hangs
(OpenMP's thread pool does not survive fork), so accelerate.debug_launcher's fork cannot be used here.
Accelerate sets gloo up from the usual torchrun environment variables.
"""

import os
import socket
import warnings

import torch
from torch.multiprocessing import ProcessExitedException, ProcessRaisedException, start_processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def join_group(rank: int, port: int, world: int = 2) -> None:
    """Inside a spawned process: the environment of rank `rank` of `world`, one thread each."""
    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "ACCELERATE_USE_CPU": "yes",
        }
    )
    torch.set_num_threads(1)


def in_two_processes(function, *args) -> None:
    """Call function(rank, port, *args) in two spawned processes and wait for both.

    Once in about ten full-suite runs the pair failed to form or to part (a torch.multiprocessing error, seen
    twice, never alone): the pair is then started once more on a fresh port, so a deterministic failure still
    fails and a lost port or a teardown race does not."""
    try:
        start_processes(function, args=(free_port(), *args), nprocs=2, start_method="spawn")
    except (ProcessRaisedException, ProcessExitedException) as first:
        warnings.warn(f"two-process group failed once, started again: {str(first)[:300]}", stacklevel=2)
        start_processes(function, args=(free_port(), *args), nprocs=2, start_method="spawn")


def _gradients_in_each_process(rank: int, port: int, out_dir: str, make_networks, gradients) -> None:
    from accelerate import Accelerator

    join_group(rank, port)
    accelerator = Accelerator(cpu=True)
    built = make_networks()
    networks = dict(zip(built, accelerator.prepare(*built.values()), strict=True))
    grads = gradients(networks, accelerator.process_index, accelerator.num_processes, accelerator.backward)
    torch.save({k.replace("module.", ""): v for k, v in grads.items()}, f"{out_dir}/rank{rank}.pt")
    accelerator.wait_for_everyone()


def gradients_in_two_processes(make_networks, gradients, out_dir) -> list[dict[str, torch.Tensor]]:
    """Each of two gloo processes builds `make_networks()`, wraps them with Accelerate (DDP) and returns
    `gradients(networks, rank, world, backward)` on its share of the batch: [rank 0's, rank 1's]. Both
    functions must be module-level (spawn pickles them by name)."""
    in_two_processes(_gradients_in_each_process, str(out_dir), make_networks, gradients)
    return [torch.load(f"{out_dir}/rank{rank}.pt", weights_only=True) for rank in (0, 1)]
