"""Watching a run: TensorBoard events of every term and the sample grids, held-out evaluations while training,
provenance in options.json and the checkpoint, plain progress lines when the output is a file, instant --help."""
import json
import subprocess
import sys
import types
from pathlib import Path

import cv2
import pytest
from skimage import data

import pretrain
import train
from utils.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def common(root, photo_dir, total, *extra):
    return ["--photo_dir", str(photo_dir), "--total_iter", str(total), "--batch_size", "2", "--image_size", "32",
            "--save_dir", str(root / "ck"), "--log_dir", str(root / "logs"), "--workers", "0", "--device", "cpu",
            "--channel", "8", "--num_blocks", "1", *extra]


def events(folder):
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))  # no TF
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


@pytest.fixture
def eval_dir(tmp_path):
    folder = tmp_path / "held_out"
    folder.mkdir()
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(data.astronaut()[:300, 80:380], cv2.COLOR_RGB2BGR))
    return folder


def test_a_three_step_run_writes_every_term_an_image_and_the_eval_rows(tmp_path, photo_dir, cartoon_dir, vgg_file,
                                                                        eval_dir):
    pretrain.main(common(tmp_path, photo_dir, 1))
    train.main([*common(tmp_path, photo_dir, 3), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file),
                "--model_version", "4", "--superpixel_workers", "0", "--sample_every", "2", "--eval_dir",
                str(eval_dir), "--eval_every", "2"])
    run = tmp_path / "logs" / "gen4"
    acc = events(run)
    scalars = set(acc.Tags()["scalars"])
    last = json.loads((run / "losses.jsonl").read_text().splitlines()[-1])
    for term in ("tv", "surface", "texture", "content", "structure", "landmark"):
        assert term in last and f"loss/{term}" in scalars and f"weighted/{term}_w" in scalars
    assert {"d/d_texture", "d/d_surface", "loss/g_total", "speed/steps_per_s"} <= scalars
    assert [e.step for e in acc.Scalars("loss/tv")] == [1, 2, 3]
    assert acc.Scalars("loss/tv")[-1].value == pytest.approx(last["tv"], rel=1e-5)
    assert {"samples", "eval"} <= set(acc.Tags()["images"]) and "options/text_summary" in acc.Tags()["tensors"]
    rows = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3]  # every --eval_every steps and at the end
    for r in rows:  # a real face: face metrics as well as the stylisation measures
        assert r["faces"] == 1 and r["landmark_nme"] >= 0 and 0 <= r["flat_share"] <= 1
        assert r["high_frequency_ratio"] > 0 and r["photo_distance"] > 0
    assert "eval/landmark_nme" in scalars and sorted(p.name for p in (run / "eval").iterdir()) == [
        "0000002.jpg", "0000003.jpg"]


def test_provenance_in_options_and_checkpoint_and_test_py_prints_the_commit(tmp_path, photo_dir, capsys):
    pretrain.main(common(tmp_path, photo_dir, 1))
    made = json.loads((tmp_path / "logs" / "pre_gen" / "options.json").read_text())["provenance"]
    ckpt = load_checkpoint(tmp_path / "ck" / "pre_gen_batch_1.pth")
    assert ckpt["provenance"] == made
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert made["commit"] == (head or None) and isinstance(made["dirty"], (bool, type(None)))
    assert made["torch"] and made["device"] == "cpu" and "cpu_flags" in made and made["command"]
    import test as test_script
    cv2.imwrite(str(tmp_path / "x.png"), data.astronaut()[:64, :64])
    test_script.main(["--model", str(tmp_path / "ck" / "pre_gen_batch_1.pth"), "--input", str(tmp_path / "x.png"),
                      "--out", str(tmp_path / "o"), "--device", "cpu"])
    if head:
        assert f"pre_gen_batch_1.pth: trained at commit {head[:12]}" in capsys.readouterr().out


def test_a_piped_run_writes_a_bounded_number_of_progress_lines(tmp_path, photo_dir):
    """30 steps with output to a pipe: no bar redraws, one plain line per 30 s and the last one."""
    done = subprocess.run([sys.executable, str(REPO / "pretrain.py"), *common(tmp_path, photo_dir, 30)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    progress = [line for line in done.stderr.splitlines() if line.startswith("pretrain:")]
    assert 1 <= len(progress) <= 3 and "\r" not in done.stderr
    assert progress[-1].startswith("pretrain: step 30/30") and "l1=" in progress[-1]
    assert "pretraining done at step 30" in done.stdout


@pytest.mark.parametrize("script", ["pretrain.py", "train.py", "test.py", "app.py"])
def test_help_answers_without_importing_torch(script):
    probe = (f"import runpy, sys; sys.argv = ['{script}', '--help']\n"
             f"try:\n    runpy.run_path('{script}', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "heavy = 'torch' in sys.modules or 'gradio' in sys.modules\n"
             "print('TORCH' if heavy else 'NO-TORCH')")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "usage:" in done.stdout and done.stdout.strip().endswith("NO-TORCH"), done.stdout[-500:] + done.stderr
