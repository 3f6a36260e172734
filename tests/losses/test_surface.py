import torch

from losses.surface import surface
from models.guided_filter import guided_filter


def test_is_the_self_guided_filter_r5_eps02():
    x = torch.rand(1, 3, 24, 24) * 2 - 1
    assert torch.equal(surface(x), guided_filter(x, x, 5, 2e-1))


def test_removes_texture_keeps_strong_edges():
    torch.manual_seed(0)
    step = torch.zeros(1, 3, 32, 32)
    step[..., 16:] = 1.0
    noisy = step * 2 - 1 + 0.1 * torch.randn_like(step)
    out = surface(noisy)
    assert (out - (step * 2 - 1))[..., 4:-4, 4:12].std() < 0.5 * 0.1  # flat area: noise halved at least
    assert (out[..., 20:] .mean() - out[..., :12].mean()) > 1.5  # the edge survives
