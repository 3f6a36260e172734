"""Rebuilding a generator from a checkpoint's ``arch`` entry: White-box's sizes by default, a checkpoint without
``arch`` (older ones) holds White-box's U-Net, and every checkpoint that cannot be rebuilt is one line."""
import pytest
import torch

from models.face_generator import FaceGenerator
from models.generator import Generator
from models.zoo import build_generator, generator_from
from utils.errors import UserError


def test_sizes_default_to_white_boxs_32_channels_and_4_blocks():
    assert build_generator({}).arch() == {"generator": "whitebox", "channel": 32, "num_blocks": 4}
    assert build_generator({"generator": "facial"}).arch() == {"generator": "facial", "channel": 32, "num_blocks": 4}


def test_a_checkpoint_without_arch_holds_white_boxs_u_net_in_eval_mode():
    G = Generator()
    got = generator_from({"G": G.state_dict()}, "old.pth")
    assert type(got) is Generator and not got.training
    assert all(torch.equal(a, b) for a, b in zip(got.state_dict().values(), G.state_dict().values()))


def test_what_cannot_be_rebuilt_is_one_line_naming_the_file():
    with pytest.raises(UserError) as e:
        generator_from({"G": {}, "arch": {"generator": "stylegan"}}, "x.pth")
    assert str(e.value) == "x.pth: holds an unknown generator 'stylegan' (known: whitebox, facial)"
    with pytest.raises(UserError, match=r"^x\.pth: holds no generator weights$"):
        generator_from({"arch": {}}, "x.pth")
    small = FaceGenerator(8, 1).state_dict()
    with pytest.raises(UserError, match=r"^x\.pth: 'G' does not match this architecture \("):
        generator_from({"G": small, "arch": {"generator": "facial"}}, "x.pth")
