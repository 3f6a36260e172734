"""The study script end to end on a tiny generated set: two arms, held-out scoring, resumption without retraining."""
import json
import re

import pytest

from studies import face_study
from utils.errors import UserError


def test_two_arms_scored_tabled_and_resumed(tmp_path, photo_dir, cartoon_dir, face_checkpoint, vgg_file, capsys):
    import cv2
    from skimage import data

    from utils.image_io import read_image

    cv2.imwrite(str(tmp_path / "astronaut.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    fast = "--workers 0 --superpixel_workers 0 --batch_size 2"
    args = ["--photo_dir", str(photo_dir), "--cartoon_dir", str(cartoon_dir), "--pretrained", str(face_checkpoint),
            "--out", str(tmp_path / "study"), "--holdout", "2", "--image_size", "32", "--batch_size", "2",
            "--train_iter", "2", "--device", "cpu", "--weights", "0", "1",
            "--arm", f"anchor=1: --w0 0 --w1 0 --w2 0 --w3 0 --w4 0 --w6 1 --vgg_weights random {fast}",
            "--arm", f"full: --vgg_weights {vgg_file} {fast}", "--show", str(tmp_path / "astronaut.png")]
    face_study.main(args)
    study = json.loads((tmp_path / "study" / "study.json").read_text())
    assert sorted(study["runs"]) == ["anchor, w5 = 1, seed 0", "full, w5 = 0, seed 0", "full, w5 = 1, seed 0"]
    for row in study["runs"].values():
        assert row["ms_per_step"] > 0 or row["ms_per_step"] != row["ms_per_step"]  # 2 steps: may be too few
        assert 0 <= row["flat_share"] <= 1 and row["high_frequency_ratio"] > 0 and row["photo_distance"] > 0
    assert "facial (untouched)" in study["baselines"] and "photos themselves" in study["baselines"]  # by name
    table = (tmp_path / "study" / "table.md").read_text()
    assert "| full, w5 = 1 (mean of 1 seed) |" in table and "| anchor, w5 = 1 (mean of 1 seed) |" in table
    assert (tmp_path / "study" / "sheet.jpg").is_file()
    # the astronaut's face (dlib's false positive on her suit scores under 0.5): photo | start | three runs
    assert read_image(tmp_path / "study" / "showcase.jpg").shape == (256, 5 * 256, 3)
    checkpoints = sorted((tmp_path / "study" / "saved_models").glob("gen*_batch_2.pth"))
    assert len(checkpoints) == 3
    stamps = [p.stat().st_mtime_ns for p in [*checkpoints, tmp_path / "study" / "scores" / "baselines.json"]]
    capsys.readouterr()
    face_study.main(args)  # everything finished: nothing is trained again, nor are the baselines scored again
    assert "train.py --model_version" not in capsys.readouterr().out
    assert [p.stat().st_mtime_ns for p in [*checkpoints, tmp_path / "study" / "scores" / "baselines.json"]] == stamps
    assert json.loads((tmp_path / "study" / "study.json").read_text())["baselines"] == study["baselines"]
    face_study.main([*args, "--seeds", "0", "1", "--report"])  # a second seed not run yet: reported as such
    out = capsys.readouterr().out
    assert "full, w5 = 1, seed 1: not trained yet (--report)" in out and "train.py --model_version" not in out
    assert "| full, w5 = 1 (mean of 1 seed) |" in (tmp_path / "study" / "table.md").read_text()


def test_a_malformed_arm_is_one_line():
    with pytest.raises(UserError, match="--arm 'x=a: --w6 1': the values after '=' are --w5 weights"):
        face_study.parse_arm("x=a: --w6 1", [0.0])
    with pytest.raises(UserError, match="write NAME"):
        face_study.parse_arm("no colon", [0.0])


def test_the_verdict_names_each_missed_part_of_the_aim_on_both_views():
    base = {"landmark_nme": 0.05, "identity_distance": 0.44, "flat_share": 0.47, "high_frequency_ratio": 1.6}
    baselines = {"whitebox (untouched)": {**base, "aligned": dict(base)},
                 "facial (untouched)": {**base, "landmark_nme": 0.06, "aligned": dict(base)}}
    good = {"landmark_nme": 0.04, "identity_distance": 0.40, "flat_share": 0.47, "high_frequency_ratio": 1.0}
    assert face_study.verdict({**good, "aligned": dict(good)}, baselines) == "meets the aim"
    flat = {**good, "aligned": {**good, "flat_share": 0.44}}
    assert face_study.verdict(flat, baselines) == "aligned: flat_share 0.44 not at least facial's 0.47"
    rough = {**good, "landmark_nme": 0.051, "aligned": dict(good)}
    assert "whole: landmark_nme 0.051 not below whitebox's 0.05" in face_study.verdict(rough, baselines)


def test_the_plot_draws_the_old_frontier_and_leaves_the_photos_out(tmp_path, monkeypatch):
    """Each earlier arm is one grey line through its points; the photos themselves (NME 0, flat 0.21) are not drawn,
    so the axes span the models."""
    import matplotlib.axes

    drawn = []
    real = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", lambda ax, *a, **k: drawn.append((a, k)) or real(ax, *a, **k))
    point = {"landmark_nme": 0.04, "flat_share": 0.45, "high_frequency_ratio": 1.1}
    earlier = face_study.read_frontier(str(frontier_file(tmp_path, {"round 1": [point, {**point, "flat_share": 0.3}]})))
    baselines = {"facial (untouched)": {**point, "flat_share": 0.47},
                 "photos themselves": {"landmark_nme": 0.0, "flat_share": 0.21, "high_frequency_ratio": 1.0}}
    assert face_study.plot({"arm": {2.0: point}}, baselines, tmp_path / "t.png", earlier).is_file()
    grey = [a for a, k in drawn if k.get("label") == "round 1"]
    assert [list(a[0]) for a in grey] == [[0.45, 0.3], [1.1, 1.1]]  # flat share, then the high-frequency panel
    assert not any(a and a[0] == 0.21 for a, _ in drawn)


def frontier_file(tmp_path, content):
    path = tmp_path / "frontier.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize("content, said", [
    ("{not json", "not JSON"),
    ({"round 1": [{"landmark_nme": 0.04}]},
     "want {label: [{flat_share, high_frequency_ratio, landmark_nme, w5}, ...]}"),
])
def test_a_bad_frontier_file_is_one_line(tmp_path, content, said):
    with pytest.raises(UserError, match=f"--frontier .*frontier.json: {re.escape(said)}"):
        face_study.read_frontier(str(frontier_file(tmp_path, content)))
    with pytest.raises(UserError, match="cannot read it"):
        face_study.read_frontier(str(tmp_path / "missing.json"))


def test_a_baseline_replaced_at_the_same_path_is_scored_again(tmp_path):
    """The baseline cache's key changes with the file (a shipped model replaced in place, as facial_landmarks was),
    and stays while the file does."""
    import os

    model = tmp_path / "model.pth"
    model.write_bytes(b"one")
    key = face_study.baseline_key(model)
    assert face_study.baseline_key(model) == key
    model.write_bytes(b"two")
    os.utime(model, ns=(1, 1))
    assert face_study.baseline_key(model) != key
