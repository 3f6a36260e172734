"""Run: the loss logs kept to the resumed step, and a dead helper process ending the run with its last complete
step saved (the loop around the steps, without a training script)."""
import argparse
import json
import random
import sys
from pathlib import Path

import pytest
import torch

from training.run import Run, keep_rows_up_to
from utils.checkpoint import load_checkpoint
from utils.errors import HelperDied, UserError


def test_logs_keep_each_step_once_after_a_resume_from_an_earlier_step(tmp_path):
    log = tmp_path / "eval.jsonl"
    log.write_text("".join(json.dumps({"step": s, "x": s}) + "\n" for s in (1, 2, 3, 4)) + '{"step": 5, "x"')
    keep_rows_up_to(log, 2)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2]
    keep_rows_up_to(tmp_path / "absent.jsonl", 2)
    assert not (tmp_path / "absent.jsonl").exists()


def run_options(root) -> argparse.Namespace:
    return argparse.Namespace(log_dir=str(root / "logs"), save_dir=str(root / "ck"), save_every=100, total_iter=100,
                              keep_last=0, max_bad_steps=3)


def test_a_dead_helper_saves_the_last_complete_step_with_the_rng_it_had_then(tmp_path):
    """The step a helper broke had drawn random numbers before it died: the checkpoint holds the generators as
    they were at the end of the step before, so a resumed run draws what an unbroken one would."""
    weights = {"w": torch.zeros(3)}
    state = lambda: {"G": dict(weights), "rng": torch.get_rng_state()}  # noqa: E731
    with pytest.raises(UserError) as e:
        with Run(run_options(tmp_path), "gen4", write=lambda *_: None) as run:
            for step in (1, 2):
                weights["w"] = weights["w"] + 1
                run.end_step(step, state, torch.device("cpu"))
            expected = torch.rand(5)  # what step 3 would draw first
            torch.rand(7)  # step 3 draws, then its helper dies
            random.random()
            raise HelperDied("a superpixel helper process died: 123 (killed by SIGKILL)")
    assert str(e.value) == (f"a superpixel helper process died: 123 (killed by SIGKILL); saved "
                            f"{tmp_path / 'ck' / 'gen4_batch_2.pth'} (step 2); continue with: python "
                            f"{Path(sys.argv[0]).name} --model_version 4 --resume")
    ckpt = load_checkpoint(tmp_path / "ck" / "gen4_batch_2.pth")
    assert ckpt["step"] == 2 and torch.equal(ckpt["G"]["w"], torch.full((3,), 2.0))
    torch.set_rng_state(ckpt["rng"])
    assert torch.equal(torch.rand(5), expected)


def test_a_helper_dead_before_any_step_saves_nothing(tmp_path):
    with pytest.raises(UserError, match="^a data-loading helper process died: x; no step was complete, nothing saved$"):
        with Run(run_options(tmp_path), "gen4", write=lambda *_: None):
            raise HelperDied("a data-loading helper process died: x")
    assert not (tmp_path / "ck").exists()
