"""The generator architectures a checkpoint can hold, rebuilt from its ``arch`` entry alone.

    G = build_generator(ckpt.get("arch", {}))     # {"generator": "whitebox" | "facial", "channel", "num_blocks"}

A checkpoint without ``arch["generator"]`` (written before the face model existed) holds White-box's U-Net.
"""
from models.conventions import Cartoonist
from models.face_generator import FaceGenerator
from models.generator import Generator

ARCHITECTURES: dict[str, type[Cartoonist]] = {cls.name: cls for cls in (Generator, FaceGenerator)}


def build_generator(arch: dict) -> Cartoonist:
    """A freshly initialised generator of the architecture ``arch`` describes; KeyError for an unknown name."""
    cls = ARCHITECTURES[arch.get("generator", Generator.name)]
    return cls(arch.get("channel", 32), arch.get("num_blocks", 4))
