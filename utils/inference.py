"""Cartoonising whole images of any size with a trained generator (test.py, the ONNX check, the ablation)."""
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from models.generator import TEST_EPS, Generator, cartoonize
from utils.checkpoint import load_checkpoint, load_state
from utils.errors import UserError
from utils.image_io import to_tensor, to_uint8
from utils.options import SAVE_DIR


def add_checkpoint_args(p) -> None:
    """The flags that name a generator checkpoint (test.py, utils.export)."""
    p.add_argument("--model_version", type=int, default=1)
    p.add_argument("--batch", type=int, default=None, help="training step of the checkpoint to load")
    p.add_argument("--pretrain", action="store_true", help="load pre_gen_batch_{batch}.pth instead")
    p.add_argument("--checkpoint", default=None, help="load this checkpoint file instead")
    p.add_argument("--save_dir", default=SAVE_DIR)


def resolve_checkpoint(p, opts) -> tuple[Path, str]:
    """(checkpoint path, a short tag naming it) from those flags; neither --batch nor --checkpoint: p.error."""
    if opts.checkpoint:
        return Path(opts.checkpoint), Path(opts.checkpoint).stem
    if opts.batch is None:
        p.error("give --batch N (the checkpoint's training step) or --checkpoint PATH")
    path = checkpoint_for(opts.save_dir, opts.model_version, opts.batch, opts.pretrain)
    return path, f"pre_{opts.batch}" if opts.pretrain else f"{opts.model_version}_{opts.batch}"


def checkpoint_for(save_dir, model_version: int, batch: int, pretrain: bool = False) -> Path:
    """The seed's naming: gen{model_version}_batch_{batch}.pth, or pre_gen_batch_{batch}.pth with --pretrain.

    A missing file is a UserError naming the expected path and listing the checkpoints that exist.
    """
    prefix = "pre_gen" if pretrain else f"gen{model_version}"
    path = Path(save_dir) / f"{prefix}_batch_{batch}.pth"
    if not path.is_file():
        names = sorted(p.name for p in Path(save_dir).glob("*.pth")) if Path(save_dir).is_dir() else []
        have = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "none"
        raise UserError(f"{path}: checkpoint not found (checkpoints in {save_dir}: {have})")
    return path


def load_generator(path, device) -> Generator:
    """Rebuild G from the checkpoint alone (its 'arch' entry), in eval mode."""
    ckpt = load_checkpoint(path)
    if "G" not in ckpt:
        raise UserError(f"{path}: holds no generator weights")
    arch = ckpt.get("arch", {})
    G = Generator(arch.get("channel", 32), arch.get("num_blocks", 4))
    load_state(G, ckpt["G"], path, "G")
    return G.to(device).eval()


def fit_size(h: int, w: int, max_side: int) -> tuple[int, int]:
    """Shrink so the long side is at most ``max_side`` (never enlarge); at least 4 pixels a side."""
    scale = min(1.0, max_side / max(h, w))
    return max(4, round(h * scale)), max(4, round(w * scale))


def pad4(x: torch.Tensor) -> torch.Tensor:
    """Pad bottom/right to multiples of 4 (the generator halves twice), mirroring the border."""
    h, w = x.shape[-2:]
    ph, pw = -h % 4, -w % 4
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode) if ph or pw else x


class Cartooniser:
    """Any RGB uint8 image in, cartoon of the same size out: resize (long side ≤ max_side), pad to a multiple
    of 4, G + the test-time guided filter (r=1, eps=5e-3), crop, resize back. Batches same-sized images."""

    def __init__(self, G: Generator, device, max_side: int = 720, half: bool = False, batch_size: int = 8):
        self.G, self.device, self.max_side, self.batch_size = G, torch.device(device), max_side, batch_size
        self.half = half and self.device.type == "cuda"

    @torch.inference_mode()
    def tensors(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1], H and W multiples of 4 -> cartoon, same shape, float32."""
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.half):
            return cartoonize(self.G, x.to(self.device), TEST_EPS).float()

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple, list[int]] = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape, []).append(i)
        for shape, idx in groups.items():
            h, w = shape[:2]
            th, tw = fit_size(h, w, self.max_side)
            for k in range(0, len(idx), self.batch_size):
                chunk = idx[k:k + self.batch_size]
                x = torch.stack([to_tensor(_resize(images[i], th, tw)) for i in chunk])
                y = self.tensors(pad4(x))[..., :th, :tw].cpu()
                for i, cartoon in zip(chunk, y):
                    out[i] = _resize(to_uint8(cartoon), h, w)
        return out


def _resize(image: np.ndarray, h: int, w: int) -> np.ndarray:
    if image.shape[:2] == (h, w):
        return image
    interp = cv2.INTER_AREA if h < image.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(image, (w, h), interpolation=interp)

