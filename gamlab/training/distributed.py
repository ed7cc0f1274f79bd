"""Data-parallel training with PyTorch's own DistributedDataParallel, launched by torchrun.

    torchrun --nproc_per_node 2 -m gamlab train --model gam --out runs/gam     # 2 processes
    gamlab train --model gam --out runs/gam                                     # 1 process: same code

Glossary: rank = this process's number (0 .. world-1), world = number of processes,
local rank = its number on this machine (which GPU it drives), B = the global batch
(TrainConfig.batch_size), b = B / world rows per process.

How one step stays the step of a single process with the whole batch:
  - every rank builds the same global batch (a function of seed and step) and keeps its own
    b rows (local_rows): the ranks together see exactly the B rows one process would see;
  - each rank's loss is the mean over its rows, DDP averages the gradients over ranks, so
    the gradient is the mean over all B rows, the same as one process's (up to float rounding);
  - every rank clips the same averaged gradient and takes the same optimizer step, so the
    learning-rate schedule counts global steps;
  - evaluation splits the validation batches over ranks and sums (loss * tokens, tokens)
    across them (all_reduce_sum);
  - only rank 0 writes checkpoints, logs and results (is_main); non-zero ranks print nothing.

Outside torchrun (no WORLD_SIZE in the environment, or WORLD_SIZE=1) every helper here is a
no-op, so the trainer has one code path.
"""

from __future__ import annotations

import atexit
import os
import sys
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from ..errors import GamlabError


def world_size() -> int:
    """Processes in the run: the process group's size, else torchrun's WORLD_SIZE, else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank (0 outside torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's number on its machine: the GPU it drives (0 outside torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    """True on the one process that writes files and prints (rank 0)."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """Under torchrun each process drives its own GPU: cuda -> cuda:LOCAL_RANK."""
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", local_rank())
    return device


def setup(device: torch.device) -> torch.device:
    """Join torchrun's process group once (gloo on CPU, nccl on CUDA); returns this rank's device.

    A no-op for a single process. Non-zero ranks stop printing to stdout (errors still reach
    stderr), so a run's log is rank 0's alone. The group is left at exit (atexit). Called by
    whoever starts a run, before the Trainer (gamlab.experiments.runs.make_trainer, the commands); a
    Trainer joins nothing itself (check_joined).
    """
    device = local_device(device)
    if not is_distributed() or dist.is_initialized():
        return device
    if not dist.is_available():  # pragma: no cover - every standard torch build has it
        raise GamlabError("this torch build has no torch.distributed; run with one process (no torchrun).")
    if "MASTER_ADDR" not in os.environ:
        raise GamlabError("WORLD_SIZE is set but MASTER_ADDR is not; launch with torchrun --nproc_per_node N.")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, timeout=timedelta(minutes=30))
    atexit.register(teardown)
    quiet_unless_main()
    return device


def check_joined() -> None:
    """Under torchrun, training needs the process group that setup() joins: refuse to go without it."""
    if is_distributed() and not (dist.is_available() and dist.is_initialized()):
        raise GamlabError("WORLD_SIZE > 1 but this process has not joined the process group; call "
                          "gamlab.training.distributed.setup(device) before building a Trainer (gamlab.experiments.runs.make_trainer does).")


def quiet_unless_main() -> None:
    """On ranks other than 0, send stdout to /dev/null (errors still reach stderr)."""
    if not is_main() and sys.stdout is not None and getattr(sys.stdout, "name", "") != os.devnull:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def teardown() -> None:
    """Leave the process group (safe to call twice, or without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around `model` under torchrun; `model` itself otherwise.

    The wrapper shares the model's parameters: keep using the bare model for state_dict,
    evaluation and generation, and call the wrapper for training forwards.
    """
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def check_batch(batch_size: int) -> None:
    """The global batch must split evenly over the processes."""
    w = world_size()
    if batch_size % w:
        raise GamlabError(f"batch size {batch_size} does not split over {w} processes; "
                          f"use a batch size divisible by {w} (--batch-size) or another --nproc_per_node.")


def local_rows(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """This rank's slice of a global batch: rows [rank * b, (rank + 1) * b) of each (B, ...) tensor."""
    w = world_size()
    if w == 1:
        return tensors
    B = tensors[0].size(0)
    if B % w:
        raise GamlabError(f"a batch of {B} rows does not split over {w} processes; use a batch size divisible by {w}.")
    b, r = B // w, rank()
    return tuple(t[r * b:(r + 1) * b] for t in tensors)


def mine(index: int) -> bool:
    """Whether item `index` of a sequence shared by all ranks is this rank's (round robin)."""
    return index % world_size() == rank()


def all_reduce_sum(*values: float | torch.Tensor) -> list[float]:
    """The sum over ranks of each value (float64); the values themselves for one process."""
    if not (dist.is_available() and dist.is_initialized()):
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    if dist.get_backend() == "nccl":  # nccl reduces GPU tensors only
        t = t.to(local_device(torch.device("cuda")))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def broadcast(obj):
    """Rank 0's `obj` on every rank (plain data: strings, numbers, lists, dicts); `obj` for one process.

    Needed for anything a rank computes that may differ between processes: Hugging Face's BPE
    trainer, for one, numbers its first tokens in hash-map order, so two processes training
    on the same text can get different token ids.
    """
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=local_device(torch.device("cuda"))
                               if dist.get_backend() == "nccl" else None)
    return box[0]


def barrier() -> None:
    """Wait for every rank (a no-op for one process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
