from pathlib import Path

import pytest
import torch

from models.face_generator import FaceGenerator
from models.generator import Generator
from utils.inference.export import TOLERANCE, check_inputs, export_onnx, max_abs_diff

pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install onnx onnxruntime onnxscript)")


@pytest.mark.parametrize("cls", [Generator, FaceGenerator])
def test_onnx_matches_pytorch_on_random_and_real_photo_with_dynamic_shapes(cls, tmp_path):
    torch.manual_seed(0)
    G = cls().eval()
    path = export_onnx(G, tmp_path / "g.onnx")
    for name, x in check_inputs().items():
        assert max_abs_diff(G, path, x) < TOLERANCE, name
    m = G.size_multiple  # another batch and size, multiples of the model's own
    assert max_abs_diff(G, path, torch.rand(3, 3, 3 * m, 5 * m) * 2 - 1) < TOLERANCE


def test_onnx_backend_of_test_py_matches_torch_and_caches_the_graph(tmp_path, monkeypatch):
    import numpy as np
    from skimage import data

    from utils.inference.cartoonise import Cartooniser, load_generator
    from utils.inference.export import ExportGraph, OnnxCartooniser
    from utils.runtime import Precision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoint = Path(__file__).resolve().parents[2] / "fixtures" / "gen7_batch_1.pth"
    G = load_generator(checkpoint, "cpu")
    photo = data.astronaut()[:200, :300]
    ort_run = OnnxCartooniser(G, checkpoint, max_side=128)
    want = Cartooniser(G, "cpu", 128, Precision("cpu", "fp32"))([photo])[0]
    assert np.abs(ort_run([photo])[0].astype(int) - want).max() <= 1  # ≤ 1e-4 before rounding to uint8
    assert len(list((tmp_path / "facial-cartoonization" / "onnx").glob("*.onnx"))) == 1
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    assert torch.equal(ExportGraph(G, strength=0.0)(x), x)
