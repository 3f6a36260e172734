"""The landmark reader (Peppa Slim): the network written from the author's graph reads the shipped weights as the
author's ONNX export does, reads a real face near dlib's points, and refuses a missing, altered or foreign file."""
from pathlib import Path

import numpy as np
import pytest
import torch

from models.landmark_reader import SlimReader
from models.released.landmark_reader import BLOB_ID, WEIGHTS, load_landmark_reader
from models.released.pretrained import git_blob_id
from utils.errors import UserError

ONNX = Path(__file__).resolve().parents[3] / "shared" / "peppa" / "slim_160_latest.onnx"


def test_the_shipped_file_is_the_published_one():
    assert git_blob_id(WEIGHTS) == BLOB_ID
    assert "Apache License" in (WEIGHTS.parent / "LICENSE").read_text()


@pytest.mark.skipif(not ONNX.is_file(), reason="the author's ONNX export (../shared/peppa) is not on this machine")
def test_equals_the_authors_onnx_graph_of_the_same_weights():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(ONNX), options)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 160, 160)).astype(np.float32)
    want = session.run(None, {"input1": x})[0]
    got = load_landmark_reader()(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() < 1e-4


def test_reads_the_astronaut_near_dlibs_points():
    """The author's crop of a real face (1.5× the face box, BGR): within 0.045 of dlib's points over the outer-eye
    distance (0.031–0.036 measured; a wrong layer, stride or colour order reads 0.1 and more)."""
    import skimage.data

    from losses.landmark_points import face_boxes, read_points
    from utils.faces.landmarks import FaceLandmarks

    photo = skimage.data.astronaut()
    finder = FaceLandmarks()
    dlib_points = torch.tensor(finder.points(photo, finder.accepted_faces(photo)[0][1]), dtype=torch.float32)[None]
    boxes, usable = face_boxes(dlib_points, 512)
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    fractions = read_points(load_landmark_reader(), x, boxes)
    pixels = boxes[:, None, :2] + (fractions - 0.5) * boxes[:, None, 2:]
    eyes = (dlib_points[0, 36] - dlib_points[0, 45]).norm()
    assert usable.all() and float((pixels - dlib_points).norm(dim=-1).mean() / eyes) < 0.045


def test_frozen_and_in_eval_mode():
    reader = load_landmark_reader()
    assert not reader.training and not any(p.requires_grad for p in reader.parameters())
    assert sum(p.numel() for p in reader.parameters()) == 234415


@pytest.mark.parametrize("damage", ["missing", "foreign", "garbage"])
def test_a_bad_file_is_one_line(tmp_path, damage):
    path = tmp_path / "reader.pth"
    if damage == "foreign":
        torch.save({"conv1.0.weight": torch.zeros(1)}, path)
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=str(path)) as e:
        load_landmark_reader(path)
    assert "\n" not in str(e.value)


def test_the_shipped_file_altered_is_refused(tmp_path, monkeypatch):
    import models.released.landmark_reader as module

    altered = tmp_path / "slim_160_latest.pth"
    altered.write_bytes(WEIGHTS.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(module, "WEIGHTS", altered)
    with pytest.raises(UserError, match="not the published file"):
        module.load_landmark_reader()


def test_layer_names_are_the_authors():
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert set(SlimReader().state_dict()) == set(state)
