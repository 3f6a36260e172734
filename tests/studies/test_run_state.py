"""studies/run_state.py: a run's newest checkpoint and logs carried in a tracked folder, restored only where
the run has nothing newer."""
import pytest

from studies.run_state import restore, save
from utils.errors import UserError


def make_run(root, steps):
    (root / "saved_models").mkdir(parents=True)
    (root / "logs" / "gen11").mkdir(parents=True)
    for step in steps:
        (root / "saved_models" / f"gen11_batch_{step}.pth").write_bytes(f"step {step}".encode())
    (root / "logs" / "gen11" / "eval.jsonl").write_text(f'{{"step": {max(steps)}}}\n')


def test_save_keeps_only_the_newest_checkpoint_and_the_logs(tmp_path):
    make_run(tmp_path / "run", [500, 2500, 1000])
    state = tmp_path / "state"
    state.mkdir()
    (state / "gen11_batch_100.pth").write_bytes(b"old")
    save(tmp_path / "run", "gen11", state)
    assert sorted(p.name for p in state.iterdir()) == ["eval.jsonl", "gen11_batch_2500.pth"]
    with pytest.raises(UserError, match="no gen12_batch_"):
        save(tmp_path / "run", "gen12", state)


def test_restore_fills_an_empty_run_and_never_goes_back(tmp_path):
    make_run(tmp_path / "old", [2500])
    state = tmp_path / "state"
    save(tmp_path / "old", "gen11", state)
    fresh = tmp_path / "fresh"
    assert restore(fresh, "gen11", state) == fresh / "saved_models" / "gen11_batch_2500.pth"
    assert (fresh / "logs" / "gen11" / "eval.jsonl").read_text() == '{"step": 2500}\n'
    assert restore(fresh, "gen11", state) is None  # already there
    make_run(tmp_path / "ahead", [3000])
    assert restore(tmp_path / "ahead", "gen11", state) is None  # a newer checkpoint here is kept
    assert not (tmp_path / "ahead" / "saved_models" / "gen11_batch_2500.pth").exists()
