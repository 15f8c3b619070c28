"""Running a function in two CPU processes that form a gloo group, as `accelerate launch` would.

Processes are started with spawn: a forked child of a pytest process that already ran torch code hangs
(OpenMP's thread pool does not survive fork), so accelerate.debug_launcher's fork cannot be used here.
Accelerate sets gloo up from the usual torchrun environment variables.
"""

import os
import socket

import torch
from torch.multiprocessing import start_processes


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
    """Call function(rank, port, *args) in two spawned processes and wait for both."""
    start_processes(function, args=(free_port(), *args), nprocs=2, start_method="spawn")
