"""Device, seed and mixed precision, decided once per run."""
import contextlib
import ctypes
import functools
import os
import platform
import random
import signal
import sys
import time

import numpy as np
import torch

from utils.errors import UserError


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; an unavailable explicit device is a UserError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise UserError(f"--device {name}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def helper_process(*_) -> None:
    """Initialiser of every helper process (loader workers, superpixel and landmark pools).

    A terminal's Ctrl-C and a scheduler's SIGTERM (``timeout``, SLURM's ``scancel``, Kubernetes, torchrun's agent)
    reach the whole process group, but only the main process should react (it saves a checkpoint and then shuts
    its helpers down through their queues), so helpers ignore SIGINT, SIGTERM and SIGUSR1 (torch's own SIGTERM
    handler in loader workers would otherwise end them, and the main process with them). And a helper must not
    outlive its run: on Linux the kernel sends it SIGKILL when the process that started it dies, even by SIGKILL
    (PR_SET_PDEATHSIG). So the pools are shut down gracefully, never with SIGTERM (multiprocessing.Pool's
    terminate would wait for ever).
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


PR_SET_PDEATHSIG = 1
DYING = 5.0  # seconds a helper whose pipe or socket broke is given to be found dead


def exited(processes, wait: float = DYING) -> list:
    """Those of ``processes`` (multiprocessing processes) that have exited, waiting up to ``wait`` seconds for one:
    a helper killed while it hands work over breaks its pipe or socket before the kernel has reaped it, so it is
    found dead only moments after the error."""
    deadline = time.monotonic() + wait
    while not (dead := [p for p in processes if p.exitcode is not None]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return dead


def requires_grad(model: torch.nn.Module, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


def native_bf16_cpu() -> bool:
    """Whether this CPU computes bf16 natively (AVX512_BF16 or AMX): torch's own probe, else /proc/cpuinfo.

    Without it oneDNN emulates bf16 and a bf16 VGG19 forward ran 130× slower than fp32 (an AVX2-only EPYC)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None:
        return bool(probe() or (amx is not None and amx()))
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_name() -> str:
    """The CPU's model name and its vector flags that matter here (for benchmark figures)."""
    name, flags = platform.processor() or "unknown CPU", []
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = [f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "amx"))]
                break
    except OSError:
        pass
    return f"{name} ({' '.join(flags) or 'no AVX'}), {os.cpu_count()} cores"


DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@functools.cache
def faster_layout(device: torch.device, repeats: int = 5) -> bool:
    """Whether channels_last runs a training-like fp32 workload faster than the contiguous layout on this CPU:
    a 3×3 convolution stack at the generator's widths (32, 64, 128 channels, stride 2 between), forward and
    backward, batch 2 at 128², each layout's median of ``repeats`` after a warm-up. About a second, once per
    process."""
    widths = (3, 32, 64, 128)
    with torch.random.fork_rng(devices=[]):  # the run's seeded stream stays as if the probe had not run
        layers = [torch.nn.Conv2d(a, b, 3, 2 if k else 1, 1) for k, (a, b) in enumerate(zip(widths, widths[1:]))]
    net = torch.nn.Sequential(*[m for conv in layers for m in (conv, torch.nn.LeakyReLU(0.2))]).to(device)
    x = torch.randn(2, 3, 128, 128, device=device, generator=torch.Generator(device).manual_seed(0))
    times = {}
    for channels_last in (False, True):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model, inp = net.to(memory_format=fmt), x.contiguous(memory_format=fmt)
        runs = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            model(inp).square().mean().backward()
            runs.append(time.perf_counter() - t0)
        times[channels_last] = sorted(runs[1:])[repeats // 2]
    return times[True] < times[False]


def resolve_precision(device: torch.device, precision: str = "auto", channels_last: str = "auto",
                      native_bf16=None, layout_probe=None) -> tuple[str, bool, str]:
    """(precision, channels_last, why) for --precision {auto,fp32,bf16,fp16} and --channels_last {auto,on,off}.

    auto on CPU: bf16 autocast + channels_last where the CPU computes bf16 natively (VGG19 forward 2.1× faster
    on an AVX512_BF16 EPYC), else fp32 in the layout that measures faster on this CPU (``faster_layout``: on one
    AVX2-only EPYC channels_last was 5 % slower for a VGG forward and 7 % faster for a whole training step). auto
    on CUDA: bf16 where the card supports it, else fp32; channels_last on.
    """
    if device.type == "cuda":
        fast, why = torch.cuda.is_bf16_supported(), f"CUDA {torch.cuda.get_device_name(device)}"
    elif device.type == "cpu":
        fast = (native_bf16 or native_bf16_cpu)()
        why = "CPU with native bf16 (AVX512_BF16/AMX)" if fast else "CPU without native bf16"
    else:
        fast, why = False, device.type
    chosen = precision if precision != "auto" else ("bf16" if fast else "fp32")
    if channels_last != "auto":
        return chosen, channels_last == "on", why
    if fast or device.type == "cuda":
        return chosen, True, why
    faster = (layout_probe or faster_layout)(device)  # fp32 on a CPU: the layout that measures faster here
    return chosen, faster, f"{why}; {'channels_last' if faster else 'contiguous'} measured faster here"


def describe_arithmetic(arithmetic: dict) -> str:
    """'bf16 + channels_last' for a checkpoint's record of its arithmetic (``Precision.arithmetic``)."""
    return f"{arithmetic['precision']}{' + channels_last' if arithmetic['channels_last'] else ''}"


class Precision:
    """Autocast dtype, memory layout and (for fp16) loss scaling, decided once per run, so the training steps
    contain no precision branches. The guided filter keeps its statistics in fp32 whatever the autocast."""

    def __init__(self, device: torch.device, precision: str = "fp32", channels_last: bool = False):
        if precision not in DTYPES:
            raise ValueError(f"precision {precision!r}: one of {', '.join(DTYPES)}")
        self.device, self.precision, self.channels_last = torch.device(device), precision, channels_last
        self.dtype = DTYPES[precision]
        self.scalers = {name: torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
                        for name in ("G", "D")}

    @classmethod
    def choose(cls, device, precision: str = "auto", channels_last: str = "auto", write=None) -> "Precision":
        """Resolve 'auto' for this device (``resolve_precision``) and say what was picked, once."""
        chosen, layout, why = resolve_precision(device, precision, channels_last)
        if write is not None:
            write(f"precision: {chosen}, {'channels_last' if layout else 'contiguous'} layout "
                  f"({'auto: ' if 'auto' in (precision, channels_last) else ''}{why})")
        return cls(device, chosen, layout)

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def layout(self, x):
        """A module or a 4-d tensor in the chosen memory layout (unchanged when contiguous is chosen)."""
        if not self.channels_last:
            return x
        if isinstance(x, torch.nn.Module):
            return x.to(memory_format=torch.channels_last)
        return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x

    def minimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, name: str) -> None:
        """Backward and step with the loss scaler of ``name`` ('G' or 'D'; one per optimiser)."""
        scaler = self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def arithmetic(self) -> dict:
        """What a checkpoint records of it, so a resumed run can say when it continues in other arithmetic."""
        return {"precision": self.precision, "channels_last": self.channels_last}

    def describe(self) -> str:
        return describe_arithmetic(self.arithmetic())

    def state_dict(self) -> dict:
        return {name: s.state_dict() for name, s in self.scalers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, s in state.items():
            if s:  # a disabled scaler (fp32/bf16) saves an empty state
                self.scalers[name].load_state_dict(s)
