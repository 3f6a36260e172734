"""The flatness term: no shading where a reference image is flat.

    L_flat = Σ M · max(e(y) − τ/2, 0) / Σ M,    M = [e(r) < τ]

y is the image being trained (a distilled student's output, or a fine-tuned G's), r the reference it should be as
flat as (the teacher's output, or the untouched starting model's). e = Sobel magnitude of the luma
(``losses.gradients.edge_magnitude``: kernels /8, values in [-1, 1]) and τ the flat share's threshold in those
units (8 on OpenCV's unnormalised Sobel of 0–255 values = 8 / (8 · 127.5)). A residue of the photo's shading of
one grey level per pixel, which an L1 term barely sees (1/127.5 per pixel), fails the flat test; this term sees
nothing but such residues, and pushes them to half the threshold.

Used by the distillation (``--flat``, ``losses/distill.py``) and by train.py's flatness guard (``--w9``, beside the
style anchor).
"""
import torch

from losses.gradients import edge_magnitude

FLAT = 1 / 127.5  # the flat share's threshold (8 of OpenCV's Sobel on 0–255) in edge_magnitude's units


def flatness_residue(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """L_flat: ``image``'s Sobel response above τ/2 where ``reference``'s is under τ (its flat areas), averaged
    over those; 0 when the reference has none. The reference carries no gradient."""
    mask = (edge_magnitude(reference.detach()) < FLAT).to(image.dtype)
    excess = (edge_magnitude(image) - FLAT / 2).clamp_min(0)
    return (mask * excess).sum() / mask.sum().clamp_min(1.0)
