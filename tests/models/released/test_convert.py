"""The converter against a checkpoint written by TensorFlow from a TF re-implementation of White-box's
``unet_generator`` and ``guided_filter`` (random weights): same pixels through the test-time guided filter.

TensorFlow runs in its own process (tf_reference.py): imported beside torch it segfaults later imports (triton,
through torch._dynamo), so no test module imports it.
"""
import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import data

import models.released.convert as convert_whitebox
import test as test_script
from inference.cartoonise import load_generator
from models.conventions import generate
from models.released.tf_checkpoint import read_checkpoint
from utils.errors import UserError
from utils.image_io import read_image

if importlib.util.find_spec("tensorflow") is None:
    pytest.skip("TensorFlow not installed (pip install tensorflow-cpu)", allow_module_level=True)


@pytest.fixture(scope="module")
def tf_model(tmp_path_factory):
    """(folder of model-33999, RGB photo, TF output on its BGR, the reference arrays), from tf_reference.py.

    Its output depends on the script alone (TensorFlow, seeded), so it is kept beside pytest's numbered temporary
    folders (which pytest prunes; this one it leaves), under the script's hash: TensorFlow's 13 s are paid once per
    machine, not once per run (mutation testing runs this fixture once per mutant)."""
    script = Path(__file__).with_name("tf_reference.py")
    key = hashlib.sha256(script.read_bytes()).hexdigest()[:16]
    out = tmp_path_factory.getbasetemp().parent / f"tf_reference_{key}"
    if not (out / "reference.npz").is_file():
        fresh = tmp_path_factory.mktemp("tf")
        done = subprocess.run([sys.executable, str(script), str(fresh)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        shutil.copytree(fresh, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("reference.npz"))
        shutil.copy2(fresh / "reference.npz", out / "reference.npz")  # last: it marks a complete copy
    ref = dict(np.load(out / "reference.npz"))
    return out / "wb", ref["photo_rgb"], ref["astronaut_bgr"], ref


def test_reader_matches_tensorflow_for_every_variable(tf_model):
    folder, ref = tf_model[0], tf_model[3]
    ours = read_checkpoint(folder / "model-33999")
    names = [k.removeprefix("var/") for k in ref if k.startswith("var/")]
    assert set(ours) == set(names) and len(ours) == 36  # 18 convolutions: weights + biases
    for name in names:
        assert np.array_equal(ours[name], ref[f"var/{name}"]), name


def test_converted_generator_reproduces_tf_on_a_real_photo(tf_model, tmp_path):
    folder, photo_rgb, tf_bgr, _ = tf_model
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    G = load_generator(tmp_path / "wb.pth", "cpu")
    assert sum(p.numel() for p in G.parameters()) == 1_467_075
    x = torch.from_numpy(photo_rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    with torch.no_grad():
        ours = generate(G, x)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - tf_bgr[..., ::-1]).max() < 1e-4


def test_channel_order_red_only_input(tf_model, tmp_path):
    folder, ref = tf_model[0], tf_model[3]
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    G = load_generator(tmp_path / "wb.pth", "cpu")
    red = ref["red"]
    with torch.no_grad():
        ours = generate(G, torch.from_numpy(red).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    tf_out = ref["red_bgr_out"]  # TF fed the BGR version: red in its last channel
    assert np.abs(ours - tf_out[..., ::-1]).max() < 1e-4
    assert np.abs(ours - tf_out).max() > 1e-2  # and the channel order matters


def test_test_script_writes_a_cartoon_at_the_photo_size(tf_model, tmp_path):
    folder = tf_model[0]
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut()[:301, :250], cv2.COLOR_RGB2BGR))
    test_script.main(["--checkpoint", str(tmp_path / "wb.pth"), "--input", str(photo), "--out", str(tmp_path / "r"),
                      "--device", "cpu"])
    assert read_image(tmp_path / "r" / "cartoon" / "photo.png").shape == (301, 250, 3)


def test_missing_and_partial_checkpoints(tf_model, tmp_path, capsys):
    folder = tf_model[0]
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(tmp_path / "nowhere"), str(tmp_path / "o.pth")])
    assert "nowhere: no such checkpoint folder or prefix" in capsys.readouterr().err
    partial = folder.parent / "partial"  # one variable, saved by TensorFlow (tf_reference.py)
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(partial), str(tmp_path / "o.pth")])
    assert "not a complete White-box generator checkpoint" in capsys.readouterr().err
    (tmp_path / "nodata").mkdir()
    for f in folder.glob("model-33999.index"):
        (tmp_path / "nodata" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(tmp_path / "nodata"), str(tmp_path / "o.pth")])
    assert "checkpoint data file not found" in capsys.readouterr().err


def test_find_prefix_takes_a_prefix_the_checkpoint_file_or_the_newest_index(tmp_path):
    """TF's conventions: a prefix as given (its .index beside it); in a folder, the prefix its 'checkpoint'
    state file names, else the newest *.index; a folder without one is a one-line error."""
    import os

    from models.released.convert import find_prefix

    for name, when in (("model-100", 1_000), ("model-300", 2_000), ("model-200", 3_000)):
        (tmp_path / f"{name}.index").write_bytes(b"")
        os.utime(tmp_path / f"{name}.index", (when, when))
    assert find_prefix(tmp_path / "model-100") == tmp_path / "model-100"
    assert find_prefix(tmp_path) == tmp_path / "model-200"  # newest by time, not by name
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "/elsewhere/model-100"\nall_model_checkpoint_paths: ""')
    assert find_prefix(tmp_path) == tmp_path / "model-100"  # its name, in this folder
    (tmp_path / "checkpoint").write_text("not a state file")
    assert find_prefix(tmp_path) == tmp_path / "model-200"
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"empty: no TensorFlow checkpoint \(\*\.index\) in this folder$"):
        find_prefix(tmp_path / "empty")


def test_a_checkpoint_missing_variables_or_holding_wrong_shapes_is_named(whitebox_folder, tmp_path):
    """Every missing variable is counted (weights and biases alike) and the first is named; a variable of the
    wrong shape is named with the checkpoint's prefix."""
    from models.released.convert import convert, convert_checkpoint
    from tests.conftest import whitebox_variables, write_tf_bundle

    variables = whitebox_variables()
    for key in ("generator/Conv/weights", "generator/Conv/biases", "generator/Conv_9/biases"):
        del variables[key]
    with pytest.raises(UserError, match=r"^SRC: not a complete White-box generator checkpoint \(missing 3 "
                                        r"variables, e\.g\. generator/Conv/weights\)$"):
        convert(variables, "SRC")
    write_tf_bundle(tmp_path / "model-6", variables)
    with pytest.raises(UserError, match=rf"^{tmp_path / 'model-6'}: not a complete White-box generator checkpoint"):
        convert_checkpoint(tmp_path / "model-6", tmp_path / "o.pth")
    variables = whitebox_variables()
    variables["generator/Conv_9/weights"] = variables["generator/Conv_9/weights"][:, :, :, :2]
    write_tf_bundle(tmp_path / "model-7", variables)
    with pytest.raises(UserError, match=rf"^{tmp_path / 'model-7'}: 'G' does not match this architecture"):
        convert_checkpoint(tmp_path / "model-7", tmp_path / "o.pth")


def test_the_converted_checkpoint_says_what_it_is_and_where_it_came_from(whitebox_folder, tmp_path):
    from models.released.convert import convert_checkpoint
    from utils.checkpoint import load_checkpoint

    ckpt = load_checkpoint(convert_checkpoint(whitebox_folder, tmp_path / "wb.pth"))
    assert (ckpt["kind"], ckpt["step"], ckpt["arch"]["generator"]) == ("whitebox", 33999, "whitebox")
    assert ckpt["options"] == {"source": str(whitebox_folder / "model-33999"),
                               "converted_from": "White-box TF checkpoint"}
    (tmp_path / "plain").mkdir()
    for f in whitebox_folder.glob("model-33999.*"):
        (tmp_path / "plain" / f.name.replace("model-33999", "generator")).write_bytes(f.read_bytes())
    assert load_checkpoint(convert_checkpoint(tmp_path / "plain", tmp_path / "g.pth"))["step"] == 0  # no -N
