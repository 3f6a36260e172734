"""The generator architectures a checkpoint can hold, rebuilt from its ``arch`` entry alone.

    G = build_generator(ckpt.get("arch", {}))     # {"generator": "whitebox" | "facial", "channel", "num_blocks"}
    G = generator_from(ckpt, path)                # with its weights, in eval mode

A checkpoint without ``arch["generator"]`` (written before the face model existed) holds White-box's U-Net.
"""
from models.conventions import CartoonGenerator
from models.face_generator import FaceGenerator
from models.generator import Generator
from utils.checkpoint import load_state
from utils.errors import UserError

ARCHITECTURES: dict[str, type[CartoonGenerator]] = {cls.name: cls for cls in (Generator, FaceGenerator)}


def build_generator(arch: dict) -> CartoonGenerator:
    """A freshly initialised generator of the architecture ``arch`` describes; KeyError for an unknown name."""
    cls = ARCHITECTURES[arch.get("generator", Generator.name)]
    return cls(arch.get("channel", 32), arch.get("num_blocks", 4))


def generator_from(ckpt: dict, path) -> CartoonGenerator:
    """G of an already loaded checkpoint (``path`` names it in errors), in eval mode, on the CPU."""
    if "G" not in ckpt:
        raise UserError(f"{path}: holds no generator weights")
    arch = ckpt.get("arch", {})
    if arch.get("generator", "whitebox") not in ARCHITECTURES:
        raise UserError(f"{path}: holds an unknown generator '{arch.get('generator')}' (known: "
                        f"{', '.join(ARCHITECTURES)})")
    G = build_generator(arch)
    load_state(G, ckpt["G"], path, "G")
    return G.eval()
