"""torchrun / DistributedDataParallel support, a no-op in a single process.

    torchrun --nproc_per_node N train.py ...     (each process: RANK, LOCAL_RANK, WORLD_SIZE from torchrun)

NCCL on GPUs, gloo on CPU; a process-group timeout (--dist_timeout minutes) turns a dead or stuck rank into an
error on the others instead of a hang (torchrun also stops the survivors when one process exits with an error).
"""
import contextlib
import datetime
import gc
import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from utils.errors import UserError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.world > 1


def setup(device_flag: str, timeout_min: float = 10.0) -> tuple[Dist, torch.device]:
    """Join the process group when launched by torchrun; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.backends.cudnn.benchmark = True  # fixed training shapes: let cuDNN pick its fastest kernels
    if world <= 1:
        from utils.runtime import pick_device
        return Dist(), pick_device(device_flag)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_flag in ("auto", "cuda") or device_flag.startswith("cuda")
    if cuda:
        if not torch.cuda.is_available():
            raise UserError(f"--device {device_flag}: CUDA is not available on this machine")
        torch.cuda.set_device(local % torch.cuda.device_count())
        device = torch.device("cuda", local % torch.cuda.device_count())
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=timeout_min))
    return Dist(rank, world, local), device


def wrap(model: torch.nn.Module, d: Dist, device: torch.device) -> torch.nn.Module:
    """DDP with the buffers synced at each wrapped forward: rank 0's buffers (the spectral-norm power-iteration
    vectors u, v among them) are sent to every rank, so all ranks normalise by the same σ. The argument is
    ``forward_sync_buffers`` from torch 2.13 (``broadcast_buffers``, its older name, warns there)."""
    if not d.on:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                   **{SYNC_BUFFERS: True})


_DDP_ARGUMENTS = inspect.signature(DistributedDataParallel).parameters
SYNC_BUFFERS = "forward_sync_buffers" if "forward_sync_buffers" in _DDP_ARGUMENTS else "broadcast_buffers"


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def any_rank(flag: bool, device) -> bool:
    """True on every rank when it is True on some rank (one all-reduce; plain ``flag`` in one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def gather(obj) -> list:
    """Every rank's ``obj`` (a list of one in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Tear the process group down while the interpreter is fully alive. A gloo group whose C++ object outlives
    this (held by a reference cycle: a DDP module, its reducer, a work handle) is destroyed at interpreter exit,
    where its worker threads' tensors need the GIL of an interpreter being finalised: the process aborts
    ("terminate called without an active exception", SIGABRT; PyTorch PR #179291 and issue #190489 describe it).
    So cyclic garbage is collected before and after destroy_process_group, and the group dies here."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
        gc.collect()


@contextlib.contextmanager
def guard():
    """Around a training loop: a failed or timed-out peer becomes a one-line UserError; the process group is
    always torn down."""
    try:
        yield
    except dist.DistError as e:
        raise UserError(f"another process of this distributed run failed or timed out "
                        f"({str(e).splitlines()[0][:160]})") from None
    finally:
        cleanup()
