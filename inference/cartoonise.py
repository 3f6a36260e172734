"""The one cartoonising API (test.py, the web demo, the ONNX check, the studies): any RGB uint8 image in, its
cartoon of the same size out.

    G = load_generator(resolve_model("whitebox"), "cpu")
    cartoonise = Cartooniser(G, "cpu", strength=0.8)          # or FaceCartooniser(Cartooniser(...))
    cartoons = cartoonise([photo])                            # list of (H, W, 3) uint8 arrays
"""
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from models.conventions import CartoonGenerator, generate
from models.released.pretrained import resolve_model
from models.zoo import generator_from
from utils.checkpoint import checkpoint_path, load_checkpoint
from utils.errors import UserError
from utils.image_io import to_batch, to_uint8
from utils.runtime import Precision


def resolve_checkpoint(spec: str | None, save_dir, model_version: int, batch: int | None, pretrain: bool = False,
                       write=print) -> tuple[Path, str]:
    """(checkpoint path, a short tag naming it): ``spec`` (a model name or a checkpoint path: --model or
    --checkpoint), else a training run's step (``checkpoint_for``). Neither: a UserError saying what to give."""
    if spec:
        return resolve_model(spec, write), Path(spec).stem if Path(spec).suffix == ".pth" else Path(spec).name
    if batch is None:
        raise UserError("give --model whitebox (or a checkpoint path), or --batch N (a training step) with "
                        "--model_version")
    path = checkpoint_for(save_dir, model_version, batch, pretrain)
    return path, f"pre_{batch}" if pretrain else f"{model_version}_{batch}"


def checkpoint_for(save_dir, model_version: int, batch: int, pretrain: bool = False) -> Path:
    """The commands' naming: gen{model_version}_batch_{batch}.pth, or pre_gen_batch_{batch}.pth with --pretrain.

    A missing file is a UserError naming the expected path and listing the checkpoints that exist.
    """
    path = checkpoint_path(save_dir, "pre_gen" if pretrain else f"gen{model_version}", batch)
    if not path.is_file():
        names = sorted(p.name for p in Path(save_dir).glob("*.pth")) if Path(save_dir).is_dir() else []
        have = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "none"
        raise UserError(f"{path}: checkpoint not found (checkpoints in {save_dir}: {have})")
    return path


def load_generator(path, device) -> CartoonGenerator:
    """Rebuild G from the checkpoint alone (its 'arch' entry names the architecture), in eval mode."""
    return generator_from(load_checkpoint(path), path).to(device)


# White-box trains for 100,000 steps; this project's recipe from scratch was still a stylised photo at 2,000
# (docs/anime.md): fewer than this is shown as a short run, not a cartoon model
SHORT_RUN = 10_000


def caveat(ckpt: dict, path) -> str | None:
    """What a sheet made with this checkpoint must say about it, or None: a pretraining (reconstruction) checkpoint,
    or a training run of fewer than SHORT_RUN adversarial steps in all, those of the model it started from
    (its ``origin``) counted (`make demo`'s pipeline check; a from-scratch run still far from a cartoon). A
    fine-tune of a released model is a cartoon model however short."""
    step, kind = ckpt.get("step", 0), ckpt.get("kind")
    if kind == "pretrain":
        return f"{Path(path).name}: a pretraining checkpoint (step {step}) reconstructs the photo; not a cartoon model"
    before = (ckpt.get("origin") or {}).get("steps", 0)
    if kind == "train" and before is not None and step + before < SHORT_RUN:
        vgg = ckpt.get("vgg", "unrecorded")
        steps = f"{step + before} training steps" + (f" ({before} of them before this run)" if before else "")
        return (f"{Path(path).name}: only {steps} (content network: {vgg}): a short run, not yet a cartoon "
                f"model; for real cartoons use --model facial_landmarks (faces) or --model whitebox")
    return None


def fit_size(h: int, w: int, max_side: int) -> tuple[int, int]:
    """Shrink so the long side is at most ``max_side`` (never enlarge); at least 4 pixels a side."""
    scale = min(1.0, max_side / max(h, w))
    return max(4, round(h * scale)), max(4, round(w * scale))


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right to multiples of ``multiple`` (the generator's size_multiple), mirroring the border."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode) if ph or pw else x


def fade(photo, cartoon, strength):
    """The style strength s: s·cartoon + (1 − s)·photo (arrays or tensors, on any one scale; s a number or a
    tensor). s = 0 is the photo, s = 1 the cartoon, a linear fade between (test.py --strength, the exports)."""
    return strength * cartoon + (1 - strength) * photo


def blend(photo: np.ndarray, cartoon: np.ndarray, strength: float) -> np.ndarray:
    """``fade`` on 0–255 uint8 images, rounded per pixel. s = 0 gives the photo back exactly, s = 1 the cartoon
    exactly."""
    if strength >= 1:
        return cartoon
    if strength <= 0:
        return photo
    mixed = fade(photo.astype(np.float32), cartoon.astype(np.float32), strength)
    return np.clip(mixed.round(), 0, 255).astype(np.uint8)


class Cartooniser:
    """Resize (long side ≤ max_side), pad to G's size multiple, G by its conventions (channel order, test-time
    guided filter), crop, resize back to the photo's size, blend with the photo at ``strength``. Batches
    same-sized images."""

    def __init__(self, G: CartoonGenerator, device, max_side: int = 720, precision: Precision | None = None,
                 batch_size: int = 8, strength: float = 1.0):
        self.device = torch.device(device)
        self.precision = precision or Precision(self.device)
        self.G = self.precision.layout(G)
        self.max_side, self.batch_size, self.strength = max_side, batch_size, strength

    @torch.inference_mode()
    def tensors(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [-1, 1], H and W multiples of G's size_multiple -> cartoon, same shape, float32."""
        with self.precision.autocast():
            return generate(self.G, self.precision.layout(x.to(self.device))).float()

    def cartoons(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Full-strength cartoons of RGB uint8 images, each at its own size."""
        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple, list[int]] = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape, []).append(i)
        for shape, idx in groups.items():
            h, w = shape[:2]
            th, tw = fit_size(h, w, self.max_side)
            for k in range(0, len(idx), self.batch_size):
                chunk = idx[k:k + self.batch_size]
                y = self.tensors(pad_to(to_batch([resize(images[i], th, tw) for i in chunk]), self.G.size_multiple))
                y = y[..., :th, :tw].cpu()
                for i, cartoon in zip(chunk, y):
                    out[i] = resize(to_uint8(cartoon), h, w)
        return out

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [blend(p, c, self.strength) for p, c in zip(images, self.cartoons(images))]

    def report(self) -> str:
        return ""


def resize(image: np.ndarray, h: int, w: int) -> np.ndarray:
    if image.shape[:2] == (h, w):
        return image
    interp = cv2.INTER_AREA if h < image.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(image, (w, h), interpolation=interp)
