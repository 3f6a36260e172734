"""Export G plus the test-time guided filter as one ONNX graph, and check it against PyTorch.

    python -m inference.export --model whitebox --onnx cartoon.onnx [--strength 0.8]
    python -m inference.export --model_version N --batch K --onnx out.onnx

Dynamic batch, height and width (multiples of the model's size multiple: 4, or 16 for the face model). The check
runs onnxruntime on a random input and on a real photo (scikit-image's astronaut) and fails when the max abs
difference reaches 1e-4.
"""
import argparse
import copy
import hashlib
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data
from torch import nn

from inference.cartoonise import Cartooniser, fade, load_generator, resolve_checkpoint
from models.conventions import conventions, generate
from models.phase_conv import split_upsampling
from models.released.pretrained import cache_root
from utils.errors import UserError, cli
from utils.flags import add_checkpoint_args, check_strength
from utils.image_io import to_batch
from utils.runtime import Precision

TOLERANCE = 1e-4


class ExportGraph(nn.Module):
    """photo (B, 3, H, W) RGB in [-1, 1] -> s·cartoon + (1 − s)·photo, where cartoon is G's output by its
    conventions (White-box: guided_filter(photo, G(photo), r=1, eps=5e-3); the face model: G on BGR, no filter)
    and the style strength s is fixed at export (test.py's --strength fade, before rounding)."""

    def __init__(self, G: nn.Module, strength: float = 1.0):
        super().__init__()
        self.G, self.strength = G, strength

    def forward(self, photo):
        cartoon = generate(self.G, photo)
        return cartoon if self.strength == 1 else fade(photo, cartoon, self.strength)


def export_onnx(G: nn.Module, path, opset: int = 18, strength: float = 1.0) -> Path:
    model = ExportGraph(G, strength).eval()
    Dim = torch.export.Dim
    m = conventions(G).size_multiple
    shapes = {"photo": {0: Dim("batch", max=1024), 2: m * Dim("hm", max=8192 // m), 3: m * Dim("wm", max=8192 // m)}}
    example = torch.zeros(2, 3, 4 * m, 6 * m)
    program = torch.onnx.export(model, (example,), dynamo=True, input_names=["photo"], output_names=["cartoon"],
                                dynamic_shapes=shapes, opset_version=opset, verbose=False)
    program.save(str(path))
    return Path(path)


class PixelGraph(nn.Module):
    """The browser's graph (web/): canvas pixels in, canvas pixels out, so the page converts nothing.

    rgba (1, H, W, 4) uint8, as ``getImageData`` gives it, and strength (1,) float32 ->
    rgba (1, H, W, 4) uint8 = round(s·cartoon + (1 − s)·photo) on 0–255, alpha 255, where cartoon is G's output by
    its conventions (ExportGraph) on the photo x = rgb / 127.5 − 1."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def forward(self, rgba, strength):
        photo = rgba[..., :3].permute(0, 3, 1, 2).float() / 127.5 - 1
        cartoon = generate(self.G, photo).clamp(-1, 1)
        rgb = ((fade(photo, cartoon, strength) + 1) * 127.5).round().clamp(0, 255).permute(0, 2, 3, 1)
        return torch.cat([rgb, torch.full_like(rgb[..., :1], 255)], -1).to(torch.uint8)


PIXEL_GRAPH = 2  # the page's graph version (2: upsampling convolutions split into phases); web/build.py re-exports


def export_pixels(G: nn.Module, path, size: int, opset: int = 18) -> Path:
    """PixelGraph at one static size (size × size), with every nearest-×2 upsampling and the 3×3 convolution after
    it computed at the low resolution (``models.phase_conv``: exact, 4/9 of their multiply-adds; the face model
    4.05 → 3.27 GFLOP at 256²), then ONNX Runtime's basic graph optimisations (constant folding, redundant nodes;
    portable across its execution providers, unlike the extended ones) saved over it."""
    import onnxruntime as ort

    if size % conventions(G).size_multiple:
        raise UserError(f"size {size}: the {conventions(G).name} generator needs a multiple of "
                        f"{conventions(G).size_multiple}")
    G = split_upsampling(copy.deepcopy(conventions(G)))
    path = Path(path)
    raw = path.with_name(path.stem + ".raw.onnx")
    example = (torch.zeros(1, size, size, 4, dtype=torch.uint8), torch.ones(1))
    program = torch.onnx.export(PixelGraph(G).eval(), example, dynamo=True, input_names=["rgba", "strength"],
                                output_names=["cartoon"], opset_version=opset, verbose=False)
    program.save(str(raw))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(path)
    ort.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
    raw.unlink()
    return path


class OnnxCartooniser(Cartooniser):
    """test.py --backend onnx: the same Cartooniser with G + the guided filter run by ONNX Runtime (CPU, fp32).
    The graph is exported once per checkpoint into the model cache (keyed by the checkpoint's bytes)."""

    def __init__(self, G: nn.Module, checkpoint, max_side: int = 720, batch_size: int = 8, strength: float = 1.0):
        import onnxruntime as ort

        super().__init__(G, "cpu", max_side, Precision("cpu", "fp32"), batch_size, strength)
        digest = hashlib.sha1(Path(checkpoint).read_bytes()).hexdigest()[:16]
        path = cache_root() / "onnx" / f"{digest}.onnx"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            export_onnx(G.cpu().float(), tmp)
            tmp.replace(path)
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def tensors(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"photo": x.float().contiguous().numpy()})[0])


def max_abs_diff(G: nn.Module, onnx_path, x: torch.Tensor, strength: float = 1.0) -> float:
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"photo": x.numpy()})[0]
    with torch.inference_mode():
        want = ExportGraph(G, strength).eval()(x).numpy()
    return float(np.abs(got - want).max())


def check_inputs() -> dict[str, torch.Tensor]:
    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    return {"random 2×3×64×96": torch.rand(2, 3, 64, 96) * 2 - 1,
            "astronaut 1×3×256×256": to_batch([photo])}


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_checkpoint_args(p)
    p.add_argument("--onnx", required=True, help="output .onnx file")
    p.add_argument("--strength", type=float, default=1.0, help="style strength baked into the graph (0–1)")
    opts = p.parse_args(argv)
    check_strength(p, opts)
    path, _ = resolve_checkpoint(opts.model or opts.checkpoint, opts.save_dir, opts.model_version, opts.batch,
                                   opts.pretrain)
    G = load_generator(path, "cpu")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError("onnxruntime is not installed: pip install onnx onnxruntime onnxscript") from None
    out = export_onnx(G, opts.onnx, strength=opts.strength)
    worst = 0.0
    for name, x in check_inputs().items():
        diff = max_abs_diff(G, out, x, opts.strength)
        worst = max(worst, diff)
        print(f"onnxruntime vs PyTorch, {name}: max abs diff {diff:.2e}")
    if worst >= TOLERANCE:
        raise UserError(f"{out}: ONNX output differs from PyTorch by {worst:.2e} (tolerance {TOLERANCE:.0e})")
    print(f"exported {path} -> {out}")


if __name__ == "__main__":
    main()
