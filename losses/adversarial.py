"""LSGAN (Mao et al., 2017) on raw discriminator logits, White-box's ``lsgan_loss``.

The discriminator's raw output is squared, with no sigmoid before it, as in the TF reference.
"""
import torch


def lsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """0.5·[mean (D(real) − 1)² + mean D(fake)²]."""
    return 0.5 * ((real_logits.float() - 1).square().mean() + fake_logits.float().square().mean())


def lsgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """mean (D(fake) − 1)²."""
    return (fake_logits.float() - 1).square().mean()
