"""The style anchor: mean |G(x) − G0(x)|, zero when G is its starting model, gradient sign(G − G0)/N; its two guards
against numpy."""
import copy

import numpy as np
import pytest
import torch

from losses.anchor import style_anchor
from models.conventions import generate
from models.face_generator import FaceGenerator


def test_zero_when_g_equals_the_starting_model():
    G = FaceGenerator(4, 1)
    G0 = copy.deepcopy(G).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    loss = style_anchor(generate(G, x, training=True), generate(G0, x, training=True))
    assert loss.item() == 0.0
    with torch.no_grad():
        G.up4.conv_layer[4].bias.add_(0.1)
    assert style_anchor(generate(G, x), generate(G0, x)).item() > 0


def test_gradient_is_the_sign_over_the_count_and_does_not_reach_the_anchor():
    out = torch.tensor([[0.5, -0.2], [0.1, 0.9]], dtype=torch.float64, requires_grad=True)
    anchor = torch.tensor([[0.0, 0.0], [0.3, 0.9 + 1e-3]], dtype=torch.float64, requires_grad=True)
    loss = style_anchor(out, anchor)
    assert loss.item() == pytest.approx((0.5 + 0.2 + 0.2 + 1e-3) / 4)
    loss.backward()
    assert torch.equal(out.grad, torch.tensor([[1.0, -1.0], [-1.0, -1.0]], dtype=torch.float64) / 4)
    assert anchor.grad is None
    assert torch.autograd.gradcheck(lambda o: style_anchor(o, anchor.detach()), (out.detach().requires_grad_(),))


def test_a_freed_anchor_weighs_by_one_minus_f_times_the_heatmaps():
    """w = 1 − f·max_parts(H); loss = mean w·|G(x) − G0(x)|, against numpy."""
    import numpy as np

    from losses.anchor import anchor_weight
    from losses.landmark import heatmaps

    points = torch.full((1, 68, 2), 8.0)
    maps = heatmaps(points, 16, 2.0)
    w = anchor_weight(maps, 0.7)
    yy, xx = np.mgrid[:16, :16]
    H = np.exp(-((xx - 8.0) ** 2 + (yy - 8.0) ** 2) / 8.0)
    np.testing.assert_allclose(w[0, 0].numpy(), 1 - 0.7 * H, atol=1e-6)
    out, anchor = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    want = ((1 - 0.7 * H)[None] * np.abs(out[0].numpy() - anchor[0].numpy())).mean()
    assert style_anchor(out, anchor, w).item() == pytest.approx(want, rel=1e-5)
    assert style_anchor(out, anchor, anchor_weight(maps, 0.0)).item() == pytest.approx(style_anchor(out, anchor).item())


def test_computed_in_float32_at_least_whatever_the_inputs_dtypes():
    """bf16 G(x) (autocast) against a float64 G0(x) and float64 weights: the term is float32, the promotion of
    the output's dtype with float32, not float64 and not bf16."""
    out = torch.rand(1, 3, 8, 8).bfloat16()
    anchor, w = torch.rand(1, 3, 8, 8, dtype=torch.float64), torch.rand(1, 1, 8, 8, dtype=torch.float64)
    for loss in (style_anchor(out, anchor), style_anchor(out, anchor, w)):
        assert loss.dtype == torch.float32
    want = (w * (out.double() - anchor).abs()).mean().item()
    assert style_anchor(out, anchor, w).item() == pytest.approx(want, rel=1e-6)


def test_the_guards_match_numpy_each_charging_one_direction():
    """shading: mean max(|∇G| − |∇G0|, 0); lines: mean max(|∇G0| − |∇G|, 0); |∇y| = |∂ₓy| + |∂ᵧy| on the
    (H − 1) × (W − 1) pixels that have both neighbours."""
    from losses.anchor import line_guard, shading_guard

    rng = np.random.default_rng(3)
    g, g0 = rng.uniform(-1, 1, (2, 3, 6, 7)), rng.uniform(-1, 1, (2, 3, 6, 7))

    def strength(y):
        return np.abs(np.diff(y, axis=3)[..., :-1, :]) + np.abs(np.diff(y, axis=2)[..., :, :-1])

    gap = strength(g) - strength(g0)
    got_shading = shading_guard(torch.from_numpy(g), torch.from_numpy(g0)).item()
    got_lines = line_guard(torch.from_numpy(g), torch.from_numpy(g0)).item()
    assert got_shading == pytest.approx(np.maximum(gap, 0).mean(), rel=1e-9)
    assert got_lines == pytest.approx(np.maximum(-gap, 0).mean(), rel=1e-9)


def test_shading_costs_only_where_g_adds_it_and_a_lost_line_only_the_line_guard():
    from losses.anchor import line_guard, shading_guard

    flat = torch.zeros(1, 3, 8, 8)
    line = flat.clone()
    line[..., 4, :] = -1
    ramp = (torch.arange(8.0) / 50).expand(1, 3, 8, 8)
    assert shading_guard(ramp, flat).item() > 0 and line_guard(ramp, flat).item() == 0
    assert line_guard(flat, line).item() > 0 and shading_guard(flat, line).item() == 0
    anchor = line.clone().requires_grad_(True)
    shading_guard(ramp.clone().requires_grad_(True), anchor).backward()
    assert anchor.grad is None
