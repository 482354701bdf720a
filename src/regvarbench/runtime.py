"""Where a training run executes: device, mixed precision, data-parallel processes, time limit.

CNN training goes through one ``accelerate.Accelerator`` per process: it places the model on the
device, wraps it in DistributedDataParallel when several processes train together (NCCL between
GPUs, gloo between CPU processes), and applies bf16/fp16 autocast (with loss scaling for fp16).
``regvarbench train --processes N`` starts the N processes itself (``launch``), so a Nextflow
task needs no launcher; a run started by ``torchrun`` or ``accelerate launch`` is recognised too.
The Hugging Face Trainer builds its own Accelerator from the same environment.

``--time-limit`` lets a run stop cleanly before a scheduler's wall-time limit: after an epoch's
checkpoint is written, if one more epoch as long as the last would pass the limit, the run stops
with exit status 75 (``PAUSED_EXIT``, EX_TEMPFAIL); started again with the same checkpoint
directory it continues from there. The pipeline retries on that status.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

# torch is imported where needed: the CLI imports this module (and so device) for every command
from .device import resolve_device, resolve_precision
from .errors import InputError

log = logging.getLogger(__name__)

PAUSED_EXIT = 75  # EX_TEMPFAIL: stopped at --time-limit after writing a checkpoint; run again to continue
_ACCELERATE = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


class TrainingPaused(Exception):
    """Raised after the checkpoint of the epoch that reached the time limit."""


@dataclass
class Runtime:
    """One training process: its Accelerator, rank, device, precision and time budget."""

    accelerator: Any
    device: str
    precision: str  # fp32 | bf16 | fp16
    time_limit: float | None = None  # seconds from ``started``
    started: float = field(default_factory=time.monotonic)

    @property
    def world_size(self) -> int:
        return int(self.accelerator.num_processes)

    @property
    def rank(self) -> int:
        return int(self.accelerator.process_index)

    @property
    def is_main(self) -> bool:
        return bool(self.accelerator.is_main_process)

    def out_of_time(self, epoch_seconds: float) -> bool:
        """True when another epoch as long as the last one would pass the time limit.

        Parameters
        ----------
        epoch_seconds : float
            How long the last epoch took, in seconds.

        Returns
        -------
        bool
            False when there is no time limit.
        """
        if self.time_limit is None:
            return False
        return time.monotonic() - self.started + epoch_seconds > self.time_limit

    def summary(self) -> dict[str, Any]:
        """What the spec records (and the checkpoint fingerprint includes) about where training ran."""
        return {"device": self.device, "precision": self.precision, "processes": self.world_size}


def make_runtime(device: str = "auto", precision: str = "auto", time_limit: float | None = None) -> Runtime:
    """The Runtime of this process (a DDP rank when launched with several processes).

    Parameters
    ----------
    device : str, optional
        ``auto`` or a device name, resolved by ``device.resolve_device``.
    precision : str, optional
        ``auto``, ``fp32``, ``bf16`` or ``fp16``, resolved by ``device.resolve_precision`` for training.
    time_limit : float or None, optional
        Seconds from now after which training stops at an epoch's end (``--time-limit``).

    Returns
    -------
    Runtime
        With a new ``accelerate.Accelerator``.

    Raises
    ------
    InputError
        If ``time_limit`` is negative.
    """
    from accelerate import Accelerator

    if time_limit is not None and time_limit < 0:
        raise InputError("--time-limit must be >= 0 seconds")
    device = resolve_device(device)
    precision = resolve_precision(precision, device, training=True)
    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    accelerator = Accelerator(cpu=device == "cpu", mixed_precision=_ACCELERATE[precision])
    return Runtime(accelerator=accelerator, device=str(accelerator.device.type), precision=precision,
                   time_limit=time_limit)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch global RNGs (the model's initial weights come from torch's).

    Parameters
    ----------
    seed : int
        The seed for all three.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_algorithms(device: str = "cpu") -> Iterator[None]:
    """Ask torch for deterministic kernels while training, then restore the caller's setting.

    On CUDA, kernels without a deterministic version warn instead of failing the run.

    Parameters
    ----------
    device : str, optional
        The device trained on (``cuda`` makes it warn-only).

    Yields
    ------
    None
    """
    import torch

    previous, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device == "cuda")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn)


def distributed_env() -> bool:
    """True inside a process started by ``launch``, torchrun or accelerate launch with >1 processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch(fn: Callable[[Any], None], args: Any, processes: int) -> None:
    """Run ``fn(args)`` in ``processes`` data-parallel processes on this machine and wait for them.

    Each process gets the torch.distributed environment (RANK, LOCAL_RANK, WORLD_SIZE, a free
    loopback port); with CUDA each uses the GPU of its local rank. The exit of any process ends
    the run: status 75 (paused at the time limit) becomes TrainingPaused here, status 2 (bad
    input, message printed by the process) an InputError.

    Parameters
    ----------
    fn : callable
        Run in each process as ``fn(args)``.
    args : Any
        Its argument (picklable, e.g. the parsed command line).
    processes : int
        How many processes to start.

    Raises
    ------
    InputError
        If ``processes`` is below 1 or more than the visible GPUs, or a process stopped on bad input.
    TrainingPaused
        If a process stopped at the time limit.
    """
    import torch
    import torch.multiprocessing as mp

    if processes < 1:
        raise InputError("--processes must be at least 1")
    if torch.cuda.is_available() and processes > torch.cuda.device_count():
        raise InputError(f"--processes {processes}: only {torch.cuda.device_count()} GPU(s) visible")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log.info("starting %d training processes (torch.distributed on 127.0.0.1:%d)", processes, port)
    try:
        mp.start_processes(_worker, args=(fn, args, processes, port, logging.getLogger().level),
                           nprocs=processes, join=True, start_method="spawn")
    except mp.ProcessExitedException as exc:
        if exc.exit_code == PAUSED_EXIT:
            raise TrainingPaused(f"process {exc.error_index} stopped at the time limit") from exc
        if exc.exit_code == 2:
            raise InputError(f"training process {exc.error_index} stopped on bad input (message above)") from exc
        raise


def _worker(rank: int, fn: Callable[[Any], None], args: Any, processes: int, port: int, level: int) -> None:
    # accelerate would otherwise set 1 thread with a warning; --threads still decides torch's count
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(processes),
                       "LOCAL_WORLD_SIZE": str(processes), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    logging.basicConfig(level=level if rank == 0 else logging.WARNING,
                        format=f"%(asctime)s %(levelname)s %(name)s [rank {rank}]: %(message)s")
    import torch

    code = 0
    try:
        fn(args)
    except TrainingPaused as exc:
        log.warning("%s", exc)
        code = PAUSED_EXIT
    except InputError as exc:
        print(f"regvarbench train: error: {exc}", file=sys.stderr)
        code = 2
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if code:
        sys.exit(code)
