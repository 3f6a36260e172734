"""The author's weight.pth (a bare state dict of SimpleGenerator, maybe with DataParallel's 'module.' prefix) to
this project's checkpoint, and every file that is not one: a one-line UserError naming the file."""
import argparse

import pytest
import torch

from models.face_generator import FaceGenerator
from models.released.face_state_dict import convert_state_dict
from utils.checkpoint import load_checkpoint
from utils.errors import UserError


def test_a_state_dict_with_dataparallels_prefix_converts_and_says_where_it_came_from(tmp_path):
    G = FaceGenerator(32, 4)
    torch.save({f"module.{k}": v for k, v in G.state_dict().items()}, tmp_path / "weight.pth")
    ckpt = load_checkpoint(convert_state_dict(tmp_path / "weight.pth", tmp_path / "out.pth"))
    assert ckpt["options"] == {"source": str(tmp_path / "weight.pth"),
                               "converted_from": "FacialCartoonization weight.pth"}
    assert ckpt["kind"] == "released" and ckpt["arch"]["generator"] == "facial"
    assert all(torch.equal(ckpt["G"][k], v) for k, v in G.state_dict().items())


def test_files_that_are_not_the_face_models_state_dict(tmp_path, monkeypatch):
    """Pickled objects are refused unread (weights_only): the reason is the first line of torch's, cut to 200
    characters; a lone tensor, an empty dict, non-tensor values, or tensors of other shapes: what the file is not."""
    torch.save({"w": argparse.Namespace(a=1)}, tmp_path / "pickled.pth")
    with pytest.raises(Exception) as torch_says:
        torch.load(tmp_path / "pickled.pth", weights_only=True)
    reason = str(torch_says.value).strip().splitlines()[0]
    with pytest.raises(UserError) as e:
        convert_state_dict(tmp_path / "pickled.pth", tmp_path / "o.pth")
    assert str(e.value) == f"{tmp_path / 'pickled.pth'}: not a readable PyTorch file ({reason})"
    def long_reason(*_, **__):
        raise RuntimeError(" " + "x" * 300 + "\nmore")

    with monkeypatch.context() as m:  # a reason longer than the cut
        m.setattr(torch, "load", long_reason)
        with pytest.raises(UserError) as e:
            convert_state_dict(tmp_path / "pickled.pth", tmp_path / "o.pth")
    assert str(e.value) == f"{tmp_path / 'pickled.pth'}: not a readable PyTorch file ({'x' * 200})"
    for name, content in (("tensor.pth", torch.ones(2)), ("empty.pth", {}), ("lists.pth", {"w": [1.0, 2.0]})):
        torch.save(content, tmp_path / name)
        with pytest.raises(UserError) as e:
            convert_state_dict(tmp_path / name, tmp_path / "o.pth")
        assert str(e.value) == (f"{tmp_path / name}: neither a checkpoint of this project nor a state dict of the "
                                f"face model")
    torch.save(FaceGenerator(8, 4).state_dict(), tmp_path / "small.pth")
    with pytest.raises(UserError, match=r"small\.pth: 'the face model \(FacialCartoonization SimpleGenerator\)' "
                                        r"does not match this architecture"):
        convert_state_dict(tmp_path / "small.pth", tmp_path / "o.pth")
    assert not (tmp_path / "o.pth").exists()
