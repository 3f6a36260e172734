"""Device, seed and mixed precision, decided once per run."""
import contextlib
import random
import signal

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


def autocast(device: torch.device, amp: str):
    """The forward-pass context for --amp {off,bf16,fp16}; a no-op for 'off'."""
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def ignore_sigint(*_) -> None:
    """Worker-process initialiser: a terminal's Ctrl-C reaches the whole process group, but only the main
    process should react (it saves a checkpoint and stops its workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def requires_grad(model: torch.nn.Module, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


class Precision:
    """Autocast and (for fp16) loss scaling, so the training steps contain no precision branches."""

    def __init__(self, device: torch.device, amp: str = "off", allow_cpu: bool = False):
        if amp != "off" and device.type != "cuda" and not allow_cpu:
            amp = "off"  # bf16 autocast on an AVX2-only CPU ran VGG19 130x slower (bench); CPU runs stay fp32
        self.device, self.amp = device, amp
        self.scalers = {name: torch.amp.GradScaler(device.type, enabled=amp == "fp16") for name in ("G", "D")}

    def autocast(self):
        return autocast(self.device, self.amp)

    def minimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, name: str) -> None:
        """Backward and step with the loss scaler of ``name`` ('G' or 'D'; one per optimiser)."""
        scaler = self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict:
        return {name: s.state_dict() for name, s in self.scalers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, s in state.items():
            if s:  # a disabled scaler (--amp off/bf16) saves an empty state
                self.scalers[name].load_state_dict(s)
