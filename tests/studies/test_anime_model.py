"""studies/anime_model.py: the step chosen on the watch set, paired bootstrap intervals, the verdict."""
import numpy as np
import pytest

from studies.anime_model import BOUNDS, bootstrap, choose_step, sheet, verdict, watch_row_bounds
from utils.errors import UserError

GOOD = {"flat_share": 0.5, "line_share": 0.03, "high_frequency_ratio": 2.0, "landmark_nme": 0.04,
        "identity_distance": 0.5}


def test_watch_rows_count_the_bounds_they_meet():
    assert watch_row_bounds(GOOD) == len(BOUNDS)
    assert watch_row_bounds({**GOOD, "flat_share": 0.2, "identity_distance": 0.7}) == len(BOUNDS) - 2


def test_the_step_meeting_most_bounds_wins_then_the_lower_kid():
    evals = [{"step": 500, **GOOD, "flat_share": 0.2, "kid_effnet": 0.01},
             {"step": 1000, **GOOD, "kid_effnet": 0.05}, {"step": 1500, **GOOD, "kid_effnet": 0.03},
             {"step": 2000, **GOOD, "kid_effnet": 0.001}]
    row, why = choose_step(evals, {500, 1000, 1500})  # no checkpoint kept at 2000
    assert row["step"] == 1500 and why.startswith("step 1500: 5 of 5 bounds")
    with pytest.raises(UserError, match="no held-out evaluation at a step with a checkpoint"):
        choose_step(evals, {250})


def test_bootstrap_means_and_intervals_against_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.1, 200)
    got = bootstrap({"m": {"x": a}}, rounds=4000)["m"]["x"]
    assert got[0] == pytest.approx(a.mean())
    half = 1.96 * a.std(ddof=1) / np.sqrt(len(a))  # the normal approximation of the mean's 95 % interval
    assert got[1] == pytest.approx(a.mean() - half, abs=0.25 * half)
    assert got[2] == pytest.approx(a.mean() + half, abs=0.25 * half)


def test_bootstrap_is_paired_and_leaves_faceless_photos_out():
    a = np.arange(50, dtype=float)
    b = a.copy()
    b[::5] = np.nan
    out = bootstrap({"one": {"x": a}, "two": {"x": a + 1, "y": b}})
    assert out["two"]["x"][1] == pytest.approx(out["one"]["x"][1] + 1)  # the same resampled photos
    assert out["two"]["y"][0] == pytest.approx(np.nanmean(b))


def test_verdict_needs_every_bound_and_the_kid():
    stats = {k: (v, v, v) for k, v in {**GOOD, "same_person": 0.95}.items()}
    assert all(verdict(stats, 0.01, 0.02).values())
    assert verdict(stats, 0.03, 0.02) == {**{k: True for k in BOUNDS}, "kid_effnet": False}
    assert verdict({**stats, "line_share": (0.01,) * 3}, None, None)["line_share"] is False


def test_the_sheet_is_one_row_per_photo_and_one_column_per_model():
    images = [[np.full((40, 30, 3), k, np.uint8)] * 8 for k in range(3)]
    out = sheet(images, 16)
    assert out.shape == (6 * 16, 3 * 16, 3) and out[0, 20, 0] == 1


def test_the_whole_command_on_a_tiny_run(tmp_path, trained_checkpoint, capsys):
    """A run folder (a checkpoint and the watch set's evaluations), three report photos, a few cartoons: the step is
    chosen, the report written with the shipped facial_landmarks beside it, and a model missing the bounds (two
    steps of training) is not released."""
    pytest.importorskip("efficientnet_lite_pytorch")
    import json
    import shutil

    from studies.anime_model import main
    from utils.image_io import skimage_photo, write_image

    run = tmp_path / "run"
    (run / "saved_models").mkdir(parents=True)
    shutil.copy(trained_checkpoint, run / "saved_models" / "gen11_batch_2.pth")
    (run / "logs" / "gen11").mkdir(parents=True)
    (run / "logs" / "gen11" / "eval.jsonl").write_text(json.dumps({"step": 2, **GOOD, "kid_effnet": 0.1}) + "\n")
    for k, name in enumerate(("astronaut", "coffee", "chelsea")):
        write_image(tmp_path / "report" / f"{name}.png", skimage_photo(name)[::4, ::4])
        write_image(tmp_path / "anime" / f"{k}.png", skimage_photo(name)[::8, ::8] // 64 * 64)
    main(["--run", str(run), "--report", str(tmp_path / "report"), "--cartoon_dir", str(tmp_path / "anime"),
          "--out", str(tmp_path / "out"), "--size", "64", "--release", str(tmp_path / "anime.pth")])
    out = capsys.readouterr().out
    assert "chosen on the watch set: step 2" in out and "not released:" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["stats"]) == {"gen11 step 2", "facial_landmarks"} and report["photos"] == 3
    assert not (tmp_path / "anime.pth").exists() and (tmp_path / "out" / "sheet.jpg").is_file()
