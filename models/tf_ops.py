"""The two TensorFlow 1 behaviours White-box's generator depends on, reproduced exactly in PyTorch."""
import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME': out = ceil(n/s), total = max((out−1)·s + k − n, 0), before = total // 2, after = the rest.

    For a 3×3 stride-2 conv on an even size this is (0, 1), not PyTorch's symmetric (1, 1).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TF 'SAME' padding. For stride 1 and odd kernels it is PyTorch's symmetric k//2 padding."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1 else 0)

    def forward(self, x):
        if self.stride[0] > 1:
            k, s = self.kernel_size[0], self.stride[0]
            top, bottom = same_padding(x.shape[-2], k, s)
            left, right = same_padding(x.shape[-1], k, s)
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _upsample_dim(x: torch.Tensor, dim: int) -> torch.Tensor:
    n = x.shape[dim]
    following = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim)
    return torch.stack([x, (x + following) * 0.5], dim=dim + 1).flatten(dim, dim + 1)


def tf_resize_bilinear_2x(x: torch.Tensor) -> torch.Tensor:
    """TF1 ``resize_bilinear(x, 2·size)`` (align_corners=False, half_pixel_centers=False) on (B, C, H, W).

    TF1 samples source coordinate j·in/out = j/2 for output j, so out[2i] = in[i] and
    out[2i+1] = (in[i] + in[min(i+1, n−1)]) / 2 along each axis. PyTorch's ``interpolate`` uses half-pixel
    centres instead ((j + 0.5)/2 − 0.5), which shifts the image by a quarter pixel.
    """
    return _upsample_dim(_upsample_dim(x, 2), 3)
