"""A released checkpoint: the generator alone in fp16, loaded back into fp32 modules with outputs close to the
original's, of kind 'released' (no short-run caveat), with its licence and how it was made."""
import torch

from inference.cartoonise import caveat, load_generator
from models.released.release import release
from utils.checkpoint import load_checkpoint


def test_fp16_release_of_a_trained_checkpoint(trained_checkpoint, tmp_path):
    out = release(trained_checkpoint, tmp_path / "rel.pth", "test licence", "two steps of a test")
    ckpt = load_checkpoint(out)
    assert ckpt["kind"] == "released" and ckpt["licence"] == "test licence"
    assert ckpt["options"]["made"] == "two steps of a test" and "D_texture" not in ckpt and "opt_G" not in ckpt
    assert all(v.dtype == torch.float16 for v in ckpt["G"].values() if v.is_floating_point())
    assert caveat(load_checkpoint(trained_checkpoint), trained_checkpoint) and caveat(ckpt, out) is None
    assert out.stat().st_size < 0.7 * sum(v.numel() * 4 for v in ckpt["G"].values())  # about half of fp32
    G32, G16 = load_generator(trained_checkpoint, "cpu"), load_generator(out, "cpu")
    assert next(G16.parameters()).dtype == torch.float32
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (G32(x) - G16(x)).abs().max() < 1e-2


def test_the_shared_residual_block_is_stored_once(face_checkpoint, tmp_path):
    out = release(face_checkpoint, tmp_path / "face.pth", "l", "m")
    G = load_checkpoint(out)["G"]
    assert G["res_blocks.0.conv_layer.0.weight"].data_ptr() == G["res_blocks.1.conv_layer.0.weight"].data_ptr()


def test_the_record_carries_over_what_the_training_checkpoint_says(trained_checkpoint, tmp_path):
    """step, architecture, provenance and the training options come from the source; its file name, the licence
    and how it was made are added; integer buffers stay integers; missing fields become 0 or empty."""
    import pytest

    from utils.checkpoint import save_checkpoint
    from utils.errors import UserError

    src = load_checkpoint(trained_checkpoint)
    ckpt = load_checkpoint(release(trained_checkpoint, tmp_path / "rel.pth", "L", "M"))
    assert (ckpt["step"], ckpt["arch"], ckpt["provenance"]) == (src["step"], src["arch"], src["provenance"])
    assert ckpt["step"] > 0 and ckpt["arch"] and ckpt["provenance"]
    assert ckpt["options"] == {"source": trained_checkpoint.name, "made": "M", "training_options": src["options"]}
    G = {"w": torch.ones(2), "n": torch.tensor(3)}
    save_checkpoint(tmp_path / "bare.pth", {"kind": "train", "G": G})
    bare = load_checkpoint(release(tmp_path / "bare.pth", tmp_path / "out.pth", "L", "M"))
    assert (bare["step"], bare["arch"], bare["provenance"], bare["options"]["training_options"]) == (0, {}, {}, {})
    assert bare["G"]["n"].dtype == torch.int64 and bare["G"]["w"].dtype == torch.float16
    save_checkpoint(tmp_path / "noG.pth", {"kind": "train"})
    with pytest.raises(UserError, match=r"noG.pth: holds no generator weights$"):
        release(tmp_path / "noG.pth", tmp_path / "x.pth", "L", "M")
