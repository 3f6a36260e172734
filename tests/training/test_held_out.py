"""train.py --eval_dir: the held-out photos measured with the current G, which goes back to training mode."""
import numpy as np
import pytest
import torch

from models.generator import Generator
from training.held_out import HeldOut
from utils.errors import UserError
from utils.image_io import skimage_photo, write_image
from utils.runtime import Precision


def test_held_out_measures_g_and_leaves_it_training(tmp_path):
    for name in ("astronaut", "coffee"):
        write_image(tmp_path / f"{name}.png", skimage_photo(name)[::2, ::2])
    (tmp_path / "broken.png").write_bytes(b"not a png")
    said = []
    held_out = HeldOut(tmp_path, num=4, write=said.append)
    assert said[-1] == f"held-out evaluation: 2 photos of {tmp_path} (1 unreadable skipped)"
    G = Generator(4, 1).train()
    measures, sheet = held_out(G, torch.device("cpu"), Precision(torch.device("cpu")))
    assert G.training
    assert sheet.shape == (2 * 128, 256, 3) and sheet.dtype == np.uint8
    assert {"flat_share", "high_frequency_ratio"} <= set(measures)
    assert all(np.isfinite(v) for k, v in measures.items() if k in ("flat_share", "high_frequency_ratio"))


def test_a_folder_without_a_readable_photo_is_one_line(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match=f"{tmp_path}: no readable held-out photos for --eval_dir \\(1 unreadable\\)"):
        HeldOut(tmp_path)


def test_kid_effnet_is_measured_against_the_cartoon_set_or_said_to_be_missing(tmp_path):
    """With the cartoon set given: KID-effnet of the held-out cartoons against it, when EfficientNet-Lite0's
    packages are installed (requirements-study.txt); without them, one note and the other measures."""
    import importlib.util

    photos, cartoons = tmp_path / "photos", tmp_path / "cartoons"
    for k, name in enumerate(("astronaut", "coffee", "chelsea")):
        write_image(photos / f"{name}.png", skimage_photo(name)[::4, ::4])
        write_image(cartoons / f"{k}.png", (skimage_photo(name)[::4, ::4] // 64) * 64)
    said = []
    held_out = HeldOut(photos, num=3, write=said.append, cartoon_dir=cartoons)
    measures, _ = held_out(Generator(4, 1), torch.device("cpu"), Precision(torch.device("cpu")))
    if importlib.util.find_spec("efficientnet_lite_pytorch") is None:
        assert said[0].startswith("note: --eval_dir: no KID-effnet") and "kid_effnet" not in measures
    else:
        assert np.isfinite(measures["kid_effnet"])
