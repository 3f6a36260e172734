"""--resume's parts on their own: which flags the command line gave, which checkpoint is meant, and how a
checkpoint's options merge with the command line (the end-to-end resumes are in tests/scripts/)."""
import argparse

import pytest

from training.options import train_parser
from training.resume import given_flags, restore_options, resume_path
from utils.checkpoint import checkpoint_path
from utils.errors import UserError


def test_given_flags_are_the_ones_on_the_command_line_not_the_defaults():
    assert given_flags(train_parser, ["--total_iter", "5", "--w1", "0.1", "--model_version", "1"]) == \
        {"total_iter", "w1", "model_version"}
    assert given_flags(train_parser, []) == set()


def opts_for(save_dir, checkpoint=None, resume=False):
    return argparse.Namespace(save_dir=str(save_dir), checkpoint=checkpoint, resume=resume)


def test_resume_path_names_the_checkpoint_meant(tmp_path):
    for step in (2, 10, 4):
        checkpoint_path(tmp_path, "gen3", step).write_bytes(b"x")
    assert resume_path(opts_for(tmp_path), "gen3") is None
    assert resume_path(opts_for(tmp_path, resume=True), "gen3") == tmp_path / "gen3_batch_10.pth"  # highest step
    assert resume_path(opts_for(tmp_path, checkpoint=4), "gen3") == tmp_path / "gen3_batch_4.pth"
    with pytest.raises(UserError, match=r"gen3_batch_5.pth: checkpoint not found \(steps saved for gen3: 2, 4, 10\)"):
        resume_path(opts_for(tmp_path, checkpoint=5), "gen3")
    with pytest.raises(UserError, match="--resume: nothing to resume, no gen4_batch_"):
        resume_path(opts_for(tmp_path, resume=True), "gen4")
    with pytest.raises(UserError, match="--resume .*other.pth: checkpoint not found"):
        resume_path(opts_for(tmp_path, resume=str(tmp_path / "other.pth")), "gen3")


def test_restore_options_takes_the_runs_own_keeps_the_given_and_refuses_inexact_ones():
    opts = argparse.Namespace(total_iter=50, lr=1e-4, image_size=128, resume=True, new_flag=7)
    saved = {"total_iter": 30, "lr": 2e-4, "image_size": 128, "resume": False, "gone_flag": 1}
    merged, overrides = restore_options(opts, {"total_iter"}, saved, "ck.pth")
    assert (merged.total_iter, merged.lr, merged.resume, merged.new_flag) == (50, 2e-4, True, 7)
    assert overrides == [("total_iter", 30, 50)] and not hasattr(merged, "gone_flag")
    with pytest.raises(UserError, match="ck.pth: was trained with --image_size 128; --image_size 256 on resume is "
                                        "refused: the weights were trained on crops of this size"):
        restore_options(argparse.Namespace(image_size=256), {"image_size"}, {"image_size": 128}, "ck.pth")
