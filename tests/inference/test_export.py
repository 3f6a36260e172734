from pathlib import Path

import pytest
import torch

from inference.export import TOLERANCE, check_inputs, export_onnx, max_abs_diff
from models.face_generator import FaceGenerator
from models.generator import Generator

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

    from inference.cartoonise import Cartooniser, load_generator
    from inference.export import ExportGraph, OnnxCartooniser
    from utils.runtime import Precision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoint = Path(__file__).resolve().parents[1] / "fixtures" / "gen7_batch_1.pth"
    G = load_generator(checkpoint, "cpu")
    photo = data.astronaut()[:200, :300]
    ort_run = OnnxCartooniser(G, checkpoint, max_side=128)
    want = Cartooniser(G, "cpu", 128, Precision("cpu", "fp32"))([photo])[0]
    assert np.abs(ort_run([photo])[0].astype(int) - want).max() <= 1  # ≤ 1e-4 before rounding to uint8
    assert len(list((tmp_path / "facial-cartoonization" / "onnx").glob("*.onnx"))) == 1
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    assert torch.equal(ExportGraph(G, strength=0.0)(x), x)


@pytest.mark.parametrize("cls", [Generator, FaceGenerator])
def test_the_pages_pixel_graph_gives_test_pys_cartoon_at_each_strength(cls, tmp_path):
    """RGBA bytes in, RGBA bytes out (alpha 255): the cartoon of test.py's Cartooniser (White-box's guided filter
    inside the graph, the face model's BGR order) and its --strength fade, within one level of 255."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    from skimage import data

    from inference.cartoonise import Cartooniser
    from inference.export import export_pixels
    from utils.runtime import Precision

    torch.manual_seed(0)
    G = cls().eval()
    session = ort.InferenceSession(str(export_pixels(G, tmp_path / "p.onnx", 64)), providers=["CPUExecutionProvider"])
    assert [i.type for i in session.get_inputs()] == ["tensor(uint8)", "tensor(float)"]
    photo = cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
    rgba = np.concatenate([photo, np.full((64, 64, 1), 255, np.uint8)], -1)[None]
    for strength in (1.0, 0.5, 0.0):
        out = session.run(None, {"rgba": rgba, "strength": np.array([strength], np.float32)})[0][0]
        want = Cartooniser(G, "cpu", 64, Precision("cpu", "fp32"), strength=strength)([photo])[0]
        assert out.dtype == np.uint8 and (out[..., 3] == 255).all()
        assert np.abs(out[..., :3].astype(int) - want).max() <= 1, strength
    with pytest.raises(Exception, match="size 40: the"):
        export_pixels(FaceGenerator(), tmp_path / "q.onnx", 40)  # not a multiple of 16
