"""Self-describing checkpoints: one dict written atomically, read back with ``weights_only=True``.

Layout (every value is a tensor, a number, a string or a container of those, so no pickled objects):
    {"format": FORMAT, "kind": "pretrain" | "train", "step": int, "options": dict, "arch": dict,
     "G": state_dict, "D_texture": ..., "D_surface": ..., "opt_G": ..., "opt_D": ..., "rng": dict}
"""
import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from utils.errors import UserError

FORMAT = "wbface-checkpoint/1"


def checkpoint_path(save_dir, prefix: str, step: int) -> Path:
    """``{save_dir}/{prefix}_batch_{step}.pth`` (prefix 'pre_gen' or 'gen{version}')."""
    return Path(save_dir) / f"{prefix}_batch_{step}.pth"


def list_checkpoints(save_dir, prefix: str) -> list[tuple[int, Path]]:
    """(step, path) of every ``{prefix}_batch_{step}.pth`` in save_dir, oldest first."""
    pattern = re.compile(rf"{re.escape(prefix)}_batch_(\d+)\.pth")
    found = []
    if Path(save_dir).is_dir():
        for p in Path(save_dir).iterdir():
            m = pattern.fullmatch(p.name)
            if m:
                found.append((int(m.group(1)), p))
    return sorted(found)


def save_checkpoint(path, state: dict) -> Path:
    """Write to a temporary file in the same folder, flush and fsync it, then rename over ``path``.

    A crash or a full disk leaves either the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def save_released(out, G, source, converted_from: str, kind: str = "released", step: int = 0) -> Path:
    """A released generator (converted from its authors' format) as a checkpoint of this project: G's weights and
    architecture, and where they came from."""
    return save_checkpoint(out, {"kind": kind, "step": step, "arch": G.arch(), "G": G.state_dict(),
                                 "options": {"source": str(source), "converted_from": converted_from}})


def load_checkpoint(path, kind: str | None = None) -> dict:
    """Read a checkpoint written by save_checkpoint; anything else is a one-line UserError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: not a readable checkpoint of this project: an empty file (0 bytes; a copy or a "
                        f"save that never finished?)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file (pickle, zip, EOF, unpickling errors)
        raise UserError(f"{path}: not a readable checkpoint of this project: {unreadable_why(path, e)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path}: not a checkpoint of this project (no '{FORMAT}' format tag)")
    if kind is not None and ckpt.get("kind") != kind:
        raise UserError(f"{path}: is a '{ckpt.get('kind')}' checkpoint, expected a '{kind}' one")
    return ckpt


def unreadable_why(path: Path, error: Exception) -> str:
    """Why torch.load failed on a file, in a user's words (not torch's text about unsafe loading)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK":  # not torch.save's zip container
        return "another kind of file, or damaged (not a PyTorch file)"
    if "Weights only load failed" in str(error):
        return "a PyTorch file of another kind (it holds pickled Python objects, which are never loaded here)"
    return "damaged or truncated (a PyTorch file that does not read to its end)"


def load_state(module, state: dict, path, name: str) -> None:
    """``module.load_state_dict(state)`` with a mismatch reported as a one-line UserError."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])[:300]
        raise UserError(f"{path}: '{name}' does not match this architecture ({detail})") from None


def capture_rng() -> dict:
    """Python, numpy, torch (and CUDA) generator states, as tensors and plain lists."""
    np_state = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def prune(save_dir, prefix: str, keep_last: int) -> list[Path]:
    """Remove all but the newest ``keep_last`` checkpoints of ``prefix`` (0 keeps all)."""
    if keep_last <= 0:
        return []
    old = [p for _, p in list_checkpoints(save_dir, prefix)[:-keep_last]]
    for p in old:
        p.unlink(missing_ok=True)
    return old
