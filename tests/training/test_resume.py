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
    assert resume_path(opts_for(tmp_path, resume="auto"), "gen3") == tmp_path / "gen3_batch_10.pth"
    assert resume_path(opts_for(tmp_path, resume="auto"), "gen4") is None  # nothing yet: a fresh run


def test_restore_options_takes_the_runs_own_keeps_the_given_and_refuses_inexact_ones():
    opts = argparse.Namespace(total_iter=50, lr=1e-4, image_size=128, resume=True, new_flag=7)
    saved = {"total_iter": 30, "lr": 2e-4, "image_size": 128, "resume": False}
    merged, overrides = restore_options(opts, {"total_iter"}, saved, "ck.pth")
    assert (merged.total_iter, merged.lr, merged.resume, merged.new_flag) == (50, 2e-4, True, 7)
    assert overrides == [("total_iter", 30, 50)]
    with pytest.raises(UserError, match="ck.pth: was trained with --image_size 128; --image_size 256 on resume is "
                                        "refused: the weights were trained on crops of this size"):
        restore_options(argparse.Namespace(image_size=256), {"image_size"}, {"image_size": 128}, "ck.pth")


def test_a_renamed_option_keeps_its_value_and_an_unknown_one_stops_the_resume(monkeypatch):
    """Earlier versions saved --amp off|bf16|fp16; today it is --precision fp32|bf16|fp16. An option name that is
    neither today's nor mapped (RENAMED) nor retired (RETIRED) would lose its value in silence: it is an error."""
    import training.resume

    opts = argparse.Namespace(precision="auto", lr=1e-4)
    merged, _ = restore_options(opts, set(), {"amp": "off", "lr": 2e-4}, "old.pth")
    assert (merged.precision, merged.lr) == ("fp32", 2e-4)
    with pytest.raises(UserError, match="old.pth: was saved with an option this version does not know, --gone 1"):
        restore_options(opts, set(), {"gone": 1}, "old.pth")
    monkeypatch.setitem(training.resume.RETIRED, "gone", "no longer used")
    assert not hasattr(restore_options(opts, set(), {"gone": 1}, "old.pth")[0], "gone")


def test_every_option_any_checkpoint_in_tests_fixtures_saved_is_known_today():
    """The fixtures were written by earlier versions (1c5d52d, aef0002): each saved option name is an option of
    today's script of that kind, or mapped in RENAMED, or in RETIRED. Renaming a flag without a mapping fails here."""
    from pathlib import Path

    import training.resume
    from training.options import distill_parser, pretrain_parser, train_parser
    from utils.checkpoint import load_checkpoint

    parsers = {"pretrain": pretrain_parser, "train": train_parser, "distill": distill_parser}
    fixtures = sorted((Path(__file__).resolve().parents[1] / "fixtures").glob("*.pth"))
    assert len(fixtures) >= 3
    for path in fixtures:
        ckpt = load_checkpoint(path)
        today = set(vars(parsers[ckpt["kind"]]().parse_args([])))
        unknown = set(ckpt["options"]) - today - set(training.resume.RENAMED) - set(training.resume.RETIRED)
        assert not unknown, (path.name, unknown)
