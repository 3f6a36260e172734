import cv2
import numpy as np
import pytest
import torch

from models.guided_filter import box_mean, guided_filter


def box_mean_reference(a: np.ndarray, r: int) -> np.ndarray:
    """Window sums with zero padding (cv2.boxFilter, BORDER_CONSTANT, unnormalised) over in-image counts."""
    k = 2 * r + 1
    s = cv2.boxFilter(a, -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)
    n = cv2.boxFilter(np.ones_like(a), -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return s / n


def guided_filter_reference(x: np.ndarray, y: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter, channel by channel, in float64 numpy (WB's formula)."""
    out = np.empty_like(y)
    for c in range(x.shape[0]):
        guide, p = x[c], y[c]
        m_guide, mp = box_mean_reference(guide, r), box_mean_reference(p, r)
        cov = box_mean_reference(guide * p, r) - m_guide * mp
        var = box_mean_reference(guide * guide, r) - m_guide * m_guide
        a = cov / (var + eps)
        b = mp - a * m_guide
        out[c] = box_mean_reference(a, r) * guide + box_mean_reference(b, r)
    return out


@pytest.mark.parametrize("r", [1, 2, 3, 5, 9])
def test_box_mean_includes_borders(r):
    a = np.random.default_rng(r).random((13, 17))
    got = box_mean(torch.from_numpy(a)[None, None], r)[0, 0].numpy()
    np.testing.assert_allclose(got, box_mean_reference(a, r), atol=1e-12)
    assert got[0, 0] == pytest.approx(a[: r + 1, : r + 1].mean())  # corner: only in-image pixels count


@pytest.mark.parametrize("r,eps", [(1, 1e-2), (1, 5e-3), (5, 2e-1)])
def test_guided_filter_matches_numpy_reference(r, eps):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (2, 3, 20, 23))
    got = guided_filter(torch.from_numpy(x)[None], torch.from_numpy(y)[None], r, eps)[0].double().numpy()
    np.testing.assert_allclose(got, guided_filter_reference(x, y, r, eps), atol=1e-5)


@pytest.mark.parametrize("r", [1, 3])
def test_guided_filter_gradcheck_float64(r):
    x = torch.rand(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    assert guided_filter(x, y, r, 1e-2).dtype == torch.float64
    assert torch.autograd.gradcheck(lambda a, b: guided_filter(a, b, r, 1e-2), (x, y))


def test_half_inputs_are_computed_in_float32():
    x = torch.rand(1, 3, 8, 8)
    assert guided_filter(x.half(), x.half(), 1, 1e-2).dtype == torch.float32


def test_guided_filter_gradient_flows_to_filtered_input():
    x = torch.rand(1, 3, 8, 8)
    y = torch.rand(1, 3, 8, 8, requires_grad=True)
    guided_filter(x, y, 1, 1e-2).sum().backward()
    assert y.grad.abs().sum() > 0


def test_float32_cumsum_path_is_accurate_at_720():
    # the r > 2 path sums up to 720 values per axis in float32: compare with the float64 computation
    x = torch.rand(1, 3, 720, 720) * 2 - 1
    got = guided_filter(x, x, 5, 2e-1)
    ref = guided_filter(x.double(), x.double(), 5, 2e-1)
    assert (got.double() - ref).abs().max() < 1e-4


def test_mixed_dtypes_are_both_upcast_and_every_tensor_follows_the_device():
    """A bf16 guide with a float32 image (and the reverse) gives what float32 copies of both give; on the meta
    device every index and count the filter makes follows the input's device."""
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    for a, b in ((x.bfloat16(), y), (x, y.bfloat16())):
        assert torch.equal(guided_filter(a, b, 3, 1e-2), guided_filter(a.float(), b.float(), 3, 1e-2))
    for r in (1, 5):  # both box-sum paths
        assert guided_filter(x.to("meta"), y.to("meta"), r, 1e-2).device.type == "meta"
