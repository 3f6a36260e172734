import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from models.generator import Generator
from utils.checkpoint import (
    capture_rng,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    load_state,
    prune,
    restore_rng,
    save_checkpoint,
)
from utils.errors import UserError


def test_round_trip_and_no_temporary_left(tmp_path):
    G = Generator(channel=8, num_blocks=1)
    path = save_checkpoint(tmp_path / "a.pth", {"kind": "pretrain", "step": 3, "G": G.state_dict()})
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]
    ckpt = load_checkpoint(path, kind="pretrain")
    G2 = Generator(channel=8, num_blocks=1)
    load_state(G2, ckpt["G"], path, "G")
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))


@pytest.mark.parametrize("content,message", [
    (b"garbage bytes", "not a readable checkpoint of this project: another kind of file, or damaged"),
    (b"", "not a readable checkpoint of this project: an empty file \\(0 bytes"),
])
def test_corrupt_files_are_one_line_errors(tmp_path, content, message):
    (tmp_path / "bad.pth").write_bytes(content)
    with pytest.raises(UserError, match=message) as e:
        load_checkpoint(tmp_path / "bad.pth")
    assert "bad.pth" in str(e.value) and "\n" not in str(e.value)


def test_truncated_checkpoint_is_an_error(tmp_path):
    path = save_checkpoint(tmp_path / "t.pth", {"kind": "train", "step": 1, "G": Generator(8, 1).state_dict()})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="t.pth: not a readable checkpoint of this project: damaged or truncated") as e:
        load_checkpoint(path)
    assert "Errno" not in str(e.value) and "weights_only" not in str(e.value)


def test_a_pickled_object_is_named_as_such_not_as_an_unsafe_load(tmp_path):
    torch.save({"G": Generator(8, 1)}, tmp_path / "whole_model.pth")  # a pickled module, not a state dict
    with pytest.raises(UserError, match="whole_model.pth: not a readable checkpoint of this project: a PyTorch file "
                                        "of another kind") as e:
        load_checkpoint(tmp_path / "whole_model.pth")
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


def test_foreign_torch_file_and_wrong_kind(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pth")
    with pytest.raises(UserError, match="not a checkpoint of this project"):
        load_checkpoint(tmp_path / "foreign.pth")
    save_checkpoint(tmp_path / "p.pth", {"kind": "pretrain", "step": 1})
    with pytest.raises(UserError, match="is a 'pretrain' checkpoint, expected a 'train' one"):
        load_checkpoint(tmp_path / "p.pth", kind="train")


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="nope.pth: checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pth")


def test_mismatched_architecture_is_one_line_error(tmp_path):
    path = save_checkpoint(tmp_path / "small.pth", {"kind": "train", "step": 1, "G": Generator(8, 1).state_dict()})
    ckpt = load_checkpoint(path)
    with pytest.raises(UserError, match="small.pth: 'G' does not match this architecture") as e:
        load_state(Generator(), ckpt["G"], path, "G")
    assert "\n" not in str(e.value)


def test_rng_round_trip_survives_weights_only_load(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    path = save_checkpoint(tmp_path / "r.pth", {"kind": "x", "rng": capture_rng()})
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    restore_rng(load_checkpoint(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


def test_list_and_prune(tmp_path):
    for step in (5, 10, 100):
        save_checkpoint(checkpoint_path(tmp_path, "gen1", step), {"kind": "train"})
    save_checkpoint(checkpoint_path(tmp_path, "gen12", 7), {"kind": "train"})
    assert [s for s, _ in list_checkpoints(tmp_path, "gen1")] == [5, 10, 100]
    prune(tmp_path, "gen1", keep_last=2)
    assert [s for s, _ in list_checkpoints(tmp_path, "gen1")] == [10, 100]
    assert [s for s, _ in list_checkpoints(tmp_path, "gen12")] == [7]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_checkpoints_written_before_the_regrouping_still_work(tmp_path, photo_dir):
    """tests/fixtures holds files written by the code of commit 1c5d52d (before utils/ was split): a 1-step
    pretraining checkpoint (G 4 channels, 1 block, 16²) and the generator part of a 1-step training one."""
    import pretrain
    import test as test_script
    from utils.image_io import read_image

    save = tmp_path / "ck"
    save.mkdir()
    shutil.copy(FIXTURES / "pre_gen_batch_1.pth", save)
    pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "2", "--batch_size", "2", "--image_size", "16",
                   "--channel", "4", "--num_blocks", "1", "--save_dir", str(save), "--log_dir", str(tmp_path / "l"),
                   "--workers", "0", "--device", "cpu", "--resume"])
    assert load_checkpoint(save / "pre_gen_batch_2.pth", kind="pretrain")["step"] == 2
    test_script.main(["--model", str(FIXTURES / "gen7_batch_1.pth"), "--input", str(photo_dir / "000.png"),
                      "--out", str(tmp_path / "o"), "--device", "cpu"])
    assert read_image(tmp_path / "o" / "cartoon" / "000.png").shape == (48, 48, 3)


@pytest.mark.parametrize("fails_in", ["write", "fsync"])
def test_a_full_disk_while_saving_leaves_the_previous_file_intact(tmp_path, monkeypatch, fails_in):
    """ENOSPC simulated in the writer itself (half the bytes written, then the error; or at fsync, where a full
    disk shows on some file systems): the file of that name before the save still loads, bit for bit, and no
    temporary file is left."""
    import errno
    import os

    import utils.checkpoint

    path = tmp_path / "gen1_batch_5.pth"
    save_checkpoint(path, {"step": 5, "G": {"w": torch.arange(1000.0)}})
    before = path.read_bytes()
    real_save = torch.save

    def half_then_full(obj, f):
        real_save(obj, f)
        f.truncate(f.tell() // 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fsync_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if fails_in == "write":
        monkeypatch.setattr(utils.checkpoint.torch, "save", half_then_full)
    else:
        monkeypatch.setattr(utils.checkpoint.os, "fsync", fsync_full)
    with pytest.raises(OSError) as e:
        save_checkpoint(path, {"step": 5, "G": {"w": torch.zeros(1000)}})
    assert e.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert torch.equal(load_checkpoint(path)["G"]["w"], torch.arange(1000.0))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_fuzz_load_checkpoint(tmp_path):
    """A damaged checkpoint (a real one of a small generator, optimiser state and RNG) is a one-line UserError or
    a checkpoint dict, never another error, a hang or a runaway allocation."""
    from hypothesis import given

    from tests.fuzzing import assert_valid_or, bounded, damaged

    G = Generator(4, 1)
    opt = torch.optim.Adam(G.parameters())
    G(torch.zeros(1, 3, 8, 8)).mean().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "gen1_batch_1.pth", {"kind": "train", "step": 1, "arch": G.arch(),
                                                          "G": G.state_dict(), "opt_G": opt.state_dict(),
                                                          "rng": capture_rng(), "options": {"lr": 2e-4}})
    valid = path.read_bytes()

    def keys(p):
        return sorted(load_checkpoint(p))

    @given(damaged(valid))
    def check(data):
        path.write_bytes(data)
        assert_valid_or(bounded(keys, path), UserError)

    check()


def test_a_checkpoint_of_the_loop_before_training_loop_resumes_bit_exactly(tmp_path, photo_dir):
    """tests/fixtures/pre_gen_batch_2_aef0002.pth was written by commit aef0002 (the three loops before
    training/loop.py; G 4 channels, 1 block, 16², fp32, on conftest's photo_dir). Today's loop resumes it: to
    step 4 at once, and to 3 then to 4, end with the same weights, bit for bit."""
    import pretrain

    ends = []
    for stops in ([4], [3, 4]):
        save = tmp_path / f"ck{len(stops)}"
        save.mkdir()
        shutil.copy(FIXTURES / "pre_gen_batch_2_aef0002.pth", save / "pre_gen_batch_2.pth")
        for total in stops:
            pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", str(total), "--save_dir", str(save),
                           "--log_dir", str(tmp_path / "l"), "--workers", "0", "--device", "cpu", "--resume"])
        ends.append(load_checkpoint(save / "pre_gen_batch_4.pth", kind="pretrain"))
    old = load_checkpoint(FIXTURES / "pre_gen_batch_2_aef0002.pth")
    assert ends[0]["options"]["precision"] == "fp32" and ends[0]["options"]["image_size"] == 16
    for key in ends[0]["G"]:
        assert torch.equal(ends[0]["G"][key], ends[1]["G"][key]), key
    assert not all(torch.equal(ends[0]["G"][k], old["G"][k]) for k in old["G"])  # two steps did train
