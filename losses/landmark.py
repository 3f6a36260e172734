"""Landmark term (weight --w5): keep the face's geometry while colour and texture turn cartoon.

Heatmaps: one Gaussian per landmark (σ = --landmark_sigma × image side, default 1.5 %), combined per facial part
(jaw, brows, nose, eyes, mouth) by a max, so each part map is in [0, 1]. The loss weighs pixels by the max over
the five part maps: every contour counts once, however many points crowd it (a sum would let the 20 mouth
points outweigh the 17 spread along the jaw).

Loss:  L = Σ H·|∇G(x) − ∇x| / Σ H,  ∇ = Sobel gradient magnitude of the luma (0.299 R + 0.587 G + 0.114 B).
Edges must stay where the photo has them; flat colour inside the contours is free to change.

View (``--landmark_view``): ``edges`` (the default, the formulation above) compares the raw images' edges, skin
texture and small creases included, which a flat cartoon cannot keep. ``surface`` compares the edges of the
surface representation of both, S = guided_filter(I, I, r=5, eps=0.2) (what the surface term judges):

    L_surface = Σ H·|∇S(G(x)) − ∇S(x)| / Σ H

S keeps the shapes that define the eyes, brows, mouth and jaw and smooths the texture away, so the term asks for
geometry, not for the photo's fine texture.

Threshold (``--landmark_threshold τ``, either view): only edges stronger than τ count,

    L_τ = Σ H·|max(∇G(x) − τ, 0) − max(∇x − τ, 0)| / Σ H

so the photo's soft shading near the points (on 0–255 luma, τ = 0.03 is about 4 levels per pixel) asks for
nothing, and G may keep its flat colour there; the contours above τ must still sit where the photo has them.
τ = 0 is the formulation above.
"""
from dataclasses import dataclass

import torch

from losses.gradients import edge_magnitude
from losses.surface import surface
from utils.faces.layout import PARTS


def heatmaps(points: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """(B, 68, 2) pixel (x, y) -> (B, 5, size, size) part maps, max of exp(−d²/2σ²) over each part's points.
    NaN points (no face) give all-zero maps."""
    coords = torch.arange(size, dtype=points.dtype, device=points.device)
    dx2 = (coords.view(1, 1, 1, size) - points[..., 0, None, None]).square()
    dy2 = (coords.view(1, 1, size, 1) - points[..., 1, None, None]).square()
    gauss = torch.exp(-(dx2 + dy2) / (2 * sigma**2)).nan_to_num(0.0)  # (B, 68, size, size)
    return torch.stack([gauss[:, list(idx)].amax(1) for idx in PARTS.values()], 1)


def landmark_loss(output: torch.Tensor, photo: torch.Tensor, maps: torch.Tensor, threshold: float = 0.0
                  ) -> torch.Tensor:
    """Σ H·|max(∇output − τ, 0) − max(∇photo − τ, 0)| / Σ H with H = max over part maps and τ = ``threshold``
    (0: every edge counts); 0 when no image has a face. The weighted sum is taken in float32 at least (bf16
    edges times float32 maps): a bf16 sum over a whole batch of pixels keeps three digits."""
    H = maps.amax(1, keepdim=True)
    # edge magnitudes are positive, so with τ = 0 this is |∇output − ∇photo| exactly
    diff = ((edge_magnitude(output) - threshold).clamp_min(0) - (edge_magnitude(photo) - threshold).clamp_min(0)).abs()
    return (H * diff).sum() / H.sum().clamp_min(1e-8)


def landmark_term(output: torch.Tensor, photo: torch.Tensor, points: torch.Tensor, sigma: float,
                  surface_view: bool = False, maps: torch.Tensor | None = None, threshold: float = 0.0
                  ) -> torch.Tensor:
    """The landmark term of a batch: heatmaps of the photo's (B, 68, 2) pixel landmarks (NaN: no face), σ a
    fraction of the image side, then ``landmark_loss`` on the images or (``surface_view``) on their surface
    representation. output, photo: (B, 3, H, W) in [-1, 1], square. ``maps``: those heatmaps when the caller has
    them already (train_step shares them with a freed anchor); ``threshold``: τ, the edge strength below which
    edges do not count."""
    size = photo.shape[-1]
    if maps is None:
        maps = heatmaps(points.to(photo.device), size, sigma * size)
    if surface_view:
        output, photo = surface(output.float()), surface(photo.float())
    return landmark_loss(output, photo, maps, threshold)


@dataclass(frozen=True)
class EdgeView:
    """The landmark term as train_step calls it, for ``--landmark_view edges`` (``surface``: surface_view=True):
    ``term(output, photo, points, maps) -> (loss, None)``; it compares edges, so it weighs them by heatmaps
    (``uses_heatmaps``; train_step passes the ones it shares with a freed anchor). No face is read: None."""
    sigma: float = 0.015
    surface_view: bool = False
    threshold: float = 0.0
    uses_heatmaps = True

    def __call__(self, output, photo, points, maps=None) -> tuple[torch.Tensor, None]:
        return landmark_term(output, photo, points, self.sigma, self.surface_view, maps, self.threshold), None
