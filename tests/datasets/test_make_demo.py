"""make demo: the shipped face model first (offline, a real cartoon), then the downloadable ones, then the pipeline
check; its last lines say where the sheets are, real cartoons first."""
import re
from pathlib import Path

import numpy as np

import test as test_script
from datasets import make_demo
from utils.image_io import read_image

REPO = Path(__file__).resolve().parents[2]


def demo_recipe() -> list[str]:
    text = (REPO / "Makefile").read_text()
    block = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines()[1:] if line.strip()]


def test_the_demo_cartoonises_with_the_shipped_model_first_and_must_succeed():
    models = [(line.startswith("-"), re.search(r"--model (\S+)", line).group(1))
              for line in demo_recipe() if "--model " in line]
    assert models[0] == (False, "facial_landmarks")  # no '-': a failure fails the demo
    assert [m for _, m in models[1:]] == ["facial", "whitebox"] and all(optional for optional, _ in models[1:])
    assert "--where results" in demo_recipe()[-1]


def test_the_shipped_model_cartoonises_the_showcase_offline(tmp_path, capsys):
    make_demo.main(["--out", str(tmp_path / "demo"), "--num", "1"])
    out = tmp_path / "results" / "demo_facial_landmarks"
    test_script.main(["--model", "facial_landmarks", "--input", str(tmp_path / "demo" / "showcase"), "--out",
                      str(out), "--align", "--device", "cpu"])
    said = capsys.readouterr().out
    assert "pipeline check" not in said and "1 face(s) cartoonised from aligned crops" in said
    photo = read_image(tmp_path / "demo" / "showcase" / "astronaut.png")
    cartoon = read_image(next((out / "cartoon").glob("astronaut*")))
    assert cartoon.shape == photo.shape and np.abs(cartoon.astype(int) - photo).mean() > 5
    assert (out / "sheet.jpg").is_file()
    lines = make_demo.where(tmp_path / "results").splitlines()
    assert lines[1].strip().startswith(str(out / "sheet.jpg")) and "face model this repository ships" in lines[1]
    assert "(none: facial could not be had)" in lines[2] and "pipeline check" in lines[4]
