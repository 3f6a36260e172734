"""studies/ablation.py: one arm per term at weight 0 plus the full loss, each a fork of the run."""
import json
import shutil

import pytest

from studies.ablation import ARMS, FIRST_VERSION, arm_command


def test_one_arm_per_term_and_the_full_loss():
    assert [flag for flag in ARMS.values()] == [None, "w0", "w1", "w2", "w3", "w4", "w5"]
    cmd = arm_command("ck.pth", FIRST_VERSION + 4, 1500, "w3")
    assert cmd[1:] == ["train.py", "--resume", "ck.pth", "--model_version", "204", "--total_iter", "1500",
                       "--save_every", "1500", "--keep_last", "1", "--w3", "0"]
    assert "--w0" not in arm_command("ck.pth", FIRST_VERSION, 1500, None)


def test_the_whole_ablation_on_a_tiny_run(tmp_path, trained_checkpoint, capsys, monkeypatch):
    """Seven forks of a two-step run, one step each, scored on three photos: a table row and a sheet column per
    arm, and a second call trains nothing again."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from pathlib import Path

    from studies.ablation import main
    from utils.image_io import skimage_photo, write_image

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo)
    start = tmp_path / "gen7_batch_2.pth"
    shutil.copy(trained_checkpoint, start)
    for k, name in enumerate(("astronaut", "coffee", "chelsea")):
        write_image(tmp_path / "report" / f"{name}.png", skimage_photo(name)[::8, ::8])
        write_image(tmp_path / "anime" / f"{k}.png", skimage_photo(name)[::8, ::8] // 64 * 64)
    args = ["--start", str(start), "--steps", "1", "--report", str(tmp_path / "report"), "--cartoon_dir",
            str(tmp_path / "anime"), "--out", str(tmp_path / "out"), "--size", "32"]
    main(args)
    result = json.loads((tmp_path / "out" / "ablation.json").read_text())
    assert list(result["stats"]) == list(ARMS)
    capsys.readouterr()
    main(args)
    assert "training" not in capsys.readouterr().out
