"""The White-box author's face model as released: ``weight.pth`` of SystemErrorWang/FacialCartoonization, a bare
state dict of its ``SimpleGenerator`` (BatchNorm with its running statistics), to this project's checkpoint.

    python -m models.released.face_state_dict weight.pth OUT.pth     # or simply: test.py --model weight.pth

``models.face_generator.FaceGenerator`` keeps the author's module names, so the state dict loads as it is (a
``module.`` prefix, left by DataParallel, is dropped).
"""
import argparse
from pathlib import Path

import torch

from models.face_generator import FaceGenerator
from utils.checkpoint import load_state, save_released
from utils.errors import UserError, cli


def convert_state_dict(path, out) -> Path:
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged or foreign file: torch raises many types
        raise UserError(f"{path}: not a readable PyTorch file ({str(e).strip().splitlines()[0][:200]})") from None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path}: neither a checkpoint of this project nor a state dict of the face model")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    G = FaceGenerator()
    load_state(G, state, path, "the face model (FacialCartoonization SimpleGenerator)")
    return save_released(out, G, path, "FacialCartoonization weight.pth")


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="the author's weight.pth")
    p.add_argument("out", help="output .pth")
    opts = p.parse_args(argv)
    print(f"converted {opts.src} -> {convert_state_dict(opts.src, opts.out)}")


if __name__ == "__main__":
    main()
