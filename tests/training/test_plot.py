"""python -m training.plot: a PNG of a run's curves from its jsonl logs; a bad folder is one line."""
import json

import cv2
import pytest

from training import plot


def test_curves_of_losses_and_held_out_measures(tmp_path, capsys):
    run = tmp_path / "gen1"
    run.mkdir()
    rows = [{"step": s, "time": s * 0.5, "tv": 1 / s, "tv_w": 10 / s, "texture_w": 0.9, "d_total": 0.8 - s / 100,
             "d_texture": 0.4} for s in range(1, 41)]
    (run / "losses.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + '\n{"step": 41, "tv"')
    (run / "eval.jsonl").write_text("\n".join(json.dumps({"step": s, "landmark_nme": 0.05 - s / 1000,
                                                          "flat_share": 0.4}) for s in (10, 20, 40)) + "\n")
    plot.main([str(run), "--smooth", "5"])
    out = capsys.readouterr().out
    assert "gen1/losses.jsonl:41: not a JSON record" in out and f"curves: {run / 'curves.png'}" in out
    image = cv2.imread(str(run / "curves.png"))
    assert image is not None and image.shape[1] > 4 * image.shape[0] / 2  # 4 panels side by side: wide
    assert (image < 250).mean() > 0.02  # something was drawn


def test_a_folder_without_a_run_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        plot.main([str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "\n" not in err and "no losses.jsonl" in err
