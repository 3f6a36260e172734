"""Distillation: a small generator (the student) taught to draw what a larger one (the teacher) draws.

    L = mean |S(x) − T(x)| + λ · (mean |∂ₓS(x) − ∂ₓT(x)| + mean |∂ᵧS(x) − ∂ᵧT(x)|) + μ · L_flat

∂ₓ, ∂ᵧ are differences of neighbouring pixels. The cartoon's flat regions are flat to the level (a Sobel response
under 8 of 255 is 'flat': ``inference.stylization``) and its ink lines are one or two pixels wide: both live in
the differences, which the plain L1 term averages away (a student trained on it alone draws a blurred photo in
the teacher's colours).

The flatness term (weight μ, ``--flat``) asks for the teacher's flat areas to be flat in the student too:

    L_flat = Σ M · max(e(S) − τ/2, 0) / Σ M,    M = [e(T) < τ]

e = Sobel magnitude of the luma (``losses.landmark.edge_magnitude``: kernels /8, values in [-1, 1]) and τ the flat
share's threshold in those units (8 on OpenCV's unnormalised Sobel of 0–255 values = 8 / (8 · 127.5)). A residue
of the photo's shading of one grey level per pixel, which the L1 terms barely see (1/127.5 per pixel), fails the
flat test; this term sees nothing but such residues, and pushes them to half the threshold.
"""
import torch

from losses.landmark import edge_magnitude

FLAT = 1 / 127.5  # the flat share's threshold (8 of OpenCV's Sobel on 0–255) in edge_magnitude's units


def pixel_differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x[..., :, 1:] − x[..., :, :-1], x[..., 1:, :] − x[..., :-1, :]) of (B, C, H, W)."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def flatness_residue(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """L_flat: the student's Sobel response above τ/2 where the teacher's is under τ (its flat areas), averaged
    over those; 0 when the teacher has none."""
    mask = (edge_magnitude(teacher) < FLAT).to(student.dtype)
    excess = (edge_magnitude(student) - FLAT / 2).clamp_min(0)
    return (mask * excess).sum() / mask.sum().clamp_min(1.0)


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, edges: float = 1.0, flat: float = 0.0
                 ) -> dict[str, torch.Tensor]:
    """{'l1', 'edges', 'flat', 'total'} for student and teacher outputs (B, 3, H, W) in [-1, 1] (float32 sums)."""
    s, t = student.float(), teacher.float()
    l1 = (s - t).abs().mean()
    (sx, sy), (tx, ty) = pixel_differences(s), pixel_differences(t)
    diff = (sx - tx).abs().mean() + (sy - ty).abs().mean()
    residue = flatness_residue(s, t)
    return {"l1": l1, "edges": diff, "flat": residue, "total": l1 + edges * diff + flat * residue}
