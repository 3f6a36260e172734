"""The style anchor: mean |G(x) − G0(x)|, zero when G is its starting model, gradient sign(G − G0)/N."""
import copy

import pytest
import torch

from losses.anchor import style_anchor
from models.conventions import cartoonize
from models.face_generator import FaceGenerator


def test_zero_when_g_equals_the_starting_model():
    G = FaceGenerator(4, 1)
    G0 = copy.deepcopy(G).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    loss = style_anchor(cartoonize(G, x, training=True), cartoonize(G0, x, training=True))
    assert loss.item() == 0.0
    with torch.no_grad():
        G.up4.conv_layer[4].bias.add_(0.1)
    assert style_anchor(cartoonize(G, x), cartoonize(G0, x)).item() > 0


def test_gradient_is_the_sign_over_the_count_and_does_not_reach_the_anchor():
    out = torch.tensor([[0.5, -0.2], [0.1, 0.9]], dtype=torch.float64, requires_grad=True)
    anchor = torch.tensor([[0.0, 0.0], [0.3, 0.9 + 1e-3]], dtype=torch.float64, requires_grad=True)
    loss = style_anchor(out, anchor)
    assert loss.item() == pytest.approx((0.5 + 0.2 + 0.2 + 1e-3) / 4)
    loss.backward()
    assert torch.equal(out.grad, torch.tensor([[1.0, -1.0], [-1.0, -1.0]], dtype=torch.float64) / 4)
    assert anchor.grad is None
    assert torch.autograd.gradcheck(lambda o: style_anchor(o, anchor.detach()), (out.detach().requires_grad_(),))
