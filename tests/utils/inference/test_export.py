import pytest
import torch

from models.generator import Generator
from utils.inference.export import TOLERANCE, check_inputs, export_onnx, max_abs_diff

pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install onnx onnxruntime onnxscript)")


def test_onnx_matches_pytorch_on_random_and_real_photo_with_dynamic_shapes(tmp_path):
    torch.manual_seed(0)
    G = Generator().eval()
    path = export_onnx(G, tmp_path / "g.onnx")
    for name, x in check_inputs().items():
        assert max_abs_diff(G, path, x) < TOLERANCE, name
    assert max_abs_diff(G, path, torch.rand(3, 3, 40, 52) * 2 - 1) < TOLERANCE  # another batch and size
