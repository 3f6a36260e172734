"""Convert White-box Cartoonization's released TF generator to this project's checkpoint format.

    python -m models.released.convert SRC_DIR OUT.pth      # SRC_DIR: the folder holding model-33999.index/.data

The TF checkpoint is read by ``models.released.tf_checkpoint`` (no TensorFlow needed). Kernels go from TF's HWIO to
PyTorch's OIHW. White-box reads and writes images with OpenCV, so its model takes and returns BGR; the first
conv's input channels and the last conv's output channels are reversed here so the converted model takes and
returns RGB like the rest of the project (the output guided filter pairs channel c of the photo with channel c
of the output, so it is unaffected). Then ``python test.py --checkpoint OUT.pth --input photo.jpg``.
"""
import argparse
import re
from pathlib import Path

import numpy as np
import torch

from models.generator import Generator
from models.released.tf_checkpoint import read_checkpoint
from utils.checkpoint import load_state, save_released
from utils.errors import UserError, cli

# the TF variable scopes in creation order (slim names unnamed convs Conv, Conv_1, ...) -> our modules
TF_TO_TORCH = {"Conv": "conv0", "Conv_1": "down1", "Conv_2": "conv1", "Conv_3": "down2", "Conv_4": "conv2",
               **{f"block_{i}/conv{j}": f"blocks.{i}.conv{j}" for i in range(4) for j in (1, 2)},
               "Conv_5": "conv3", "Conv_6": "up1a", "Conv_7": "up1b", "Conv_8": "up2", "Conv_9": "out"}


def find_prefix(src) -> Path:
    """The checkpoint prefix in SRC: named by its 'checkpoint' file, else the newest *.index."""
    src = Path(src)
    if src.with_name(src.name + ".index").is_file():
        return src
    if not src.is_dir():
        raise UserError(f"{src}: no such checkpoint folder or prefix")
    state = src / "checkpoint"
    if state.is_file():
        m = re.search(r'model_checkpoint_path:\s*"([^"]+)"', state.read_text())
        if m:
            return src / Path(m.group(1)).name
    index = sorted(src.glob("*.index"), key=lambda p: p.stat().st_mtime)
    if not index:
        raise UserError(f"{src}: no TensorFlow checkpoint (*.index) in this folder")
    return index[-1].with_suffix("")


def convert(variables: dict[str, np.ndarray], source: str) -> dict:
    """White-box 'generator/...' variables -> a Generator state dict taking and returning RGB."""
    state = {}
    missing = []
    for tf_name, ours in TF_TO_TORCH.items():
        for suffix, kind in (("weights", "weight"), ("biases", "bias")):
            key = f"generator/{tf_name}/{suffix}"
            if key not in variables:
                missing.append(key)
                continue
            value = torch.from_numpy(np.ascontiguousarray(variables[key])).float()
            state[f"{ours}.{kind}"] = value.permute(3, 2, 0, 1).contiguous() if kind == "weight" else value
    if missing:
        raise UserError(f"{source}: not a complete White-box generator checkpoint (missing {len(missing)} "
                        f"variables, e.g. {missing[0]})")
    state["conv0.weight"] = state["conv0.weight"].flip(1)  # BGR input -> RGB input
    state["out.weight"] = state["out.weight"].flip(0)  # BGR output -> RGB output
    state["out.bias"] = state["out.bias"].flip(0)
    return state


def convert_checkpoint(src, out) -> Path:
    """The White-box TF checkpoint in ``src`` (a folder or a prefix) -> this project's checkpoint at ``out``."""
    prefix = find_prefix(src)
    state = convert(read_checkpoint(prefix), str(prefix))
    G = Generator()
    load_state(G, state, prefix, "G")
    step = int(m.group(1)) if (m := re.search(r"-(\d+)$", prefix.name)) else 0
    return save_released(out, G, prefix, "White-box TF checkpoint", kind="whitebox", step=step)


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="folder of the TF checkpoint (or its prefix, e.g. saved_models/model-33999)")
    p.add_argument("out", help="output .pth")
    opts = p.parse_args(argv)
    out = convert_checkpoint(opts.src, opts.out)
    print(f"converted {find_prefix(opts.src)} -> {out}; run: python test.py --model {out} --input PHOTO")


if __name__ == "__main__":
    main()
