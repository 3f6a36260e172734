import torch

from losses.adversarial import lsgan_d_loss, lsgan_g_loss


def test_lsgan_on_hand_computed_logits():
    real = torch.tensor([1.0, 0.0, 2.0, 1.0])  # (r-1)^2 = 0, 1, 1, 0 -> mean 0.5
    fake = torch.tensor([0.0, 1.0, -1.0, 2.0])  # f^2 = 0, 1, 1, 4 -> mean 1.5; (f-1)^2 = 1, 0, 4, 1 -> 1.5
    assert lsgan_d_loss(real, fake).item() == 0.5 * (0.5 + 1.5)
    assert lsgan_g_loss(fake).item() == 1.5


def test_optimum_is_zero():
    assert lsgan_d_loss(torch.ones(3), torch.zeros(3)) == 0
    assert lsgan_g_loss(torch.ones(3)) == 0
