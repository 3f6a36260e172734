"""The image gradients the terms compare, in one place: the landmark term and the flatness term read the Sobel
magnitude of the luma; the distillation and the anchor's guards read neighbouring-pixel differences."""
import torch
import torch.nn.functional as F

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def edge_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the luma (0.299 R + 0.587 G + 0.114 B) of (B, 3, H, W) -> (B, 1, H, W):
    sqrt(gx² + gy²) with OpenCV's 3×3 kernels / 8, borders replicated."""
    luma = (x * torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, True)
    kx = SOBEL_X.to(x.dtype).to(x.device).view(1, 1, 3, 3)
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, kx), F.conv2d(padded, kx.transpose(2, 3))
    return torch.sqrt(gx.square() + gy.square() + 1e-12)


def pixel_differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x[..., :, 1:] − x[..., :, :-1], x[..., 1:, :] − x[..., :-1, :]) of (B, C, H, W)."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def gradient_strength(x: torch.Tensor) -> torch.Tensor:
    """|∂ₓx| + |∂ᵧx| of (B, C, H, W) -> (B, C, H − 1, W − 1): neighbouring-pixel differences, in float32 at least."""
    dx, dy = pixel_differences(x.to(torch.promote_types(x.dtype, torch.float32)))
    return dx[..., :-1, :].abs() + dy[..., :, :-1].abs()
