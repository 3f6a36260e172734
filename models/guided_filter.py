"""White-box's guided filter (He et al., 2010), per channel, as in the TF reference's ``guided_filter``."""
import torch
import torch.nn.functional as F


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)² window of each pixel, counting only pixels inside the image.

    WB: ``box(x)/N`` with a depthwise all-ones conv, zero 'SAME' padding and N = box(ones). Average pooling
    with ``count_include_pad=False`` is exactly that ratio, in one op (used for r ≤ 2: the output filter, and
    what ONNX exports); for larger r, differences of cumulative sums cost the same whatever r (4× faster at
    r = 5 on CPU, measured by bench).
    """
    if r <= 2:
        return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)
    return _box_sum_1d(_box_sum_1d(x, 2, r), 3, r) / _box_count(x, r)


def _box_sum_1d(x: torch.Tensor, dim: int, r: int) -> torch.Tensor:
    n = x.shape[dim]
    c = torch.cat([torch.zeros_like(x.narrow(dim, 0, 1)), x.cumsum(dim)], dim)
    idx = torch.arange(n, device=x.device)
    return c.index_select(dim, (idx + r + 1).clamp(max=n)) - c.index_select(dim, (idx - r).clamp(min=0))


def _box_count(x: torch.Tensor, r: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ih, iw = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    nh = (ih + r + 1).clamp(max=h) - (ih - r).clamp(min=0)
    nw = (iw + r + 1).clamp(max=w) - (iw - r).clamp(min=0)
    return (nh.view(-1, 1) * nw.view(1, -1)).to(x.dtype)


def guided_filter(x: torch.Tensor, y: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """Filter y guided by x, channel by channel; x, y: (B, C, H, W) of one C. At least float32 (half inputs are
    upcast: the variance term cancels catastrophically in 16 bits).

        mean_x = box(x)/N   mean_y = box(y)/N   cov_xy = box(x·y)/N − mean_x·mean_y   var_x = box(x²)/N − mean_x²
        A = cov_xy / (var_x + eps)   b = mean_y − A·mean_x   out = (box(A)/N)·x + box(b)/N
    """
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
    x, y = x.to(dtype), y.to(dtype)
    mean_x, mean_y = box_mean(x, r), box_mean(y, r)
    cov_xy = box_mean(x * y, r) - mean_x * mean_y
    var_x = box_mean(x * x, r) - mean_x * mean_x
    A = cov_xy / (var_x + eps)
    b = mean_y - A * mean_x
    return box_mean(A, r) * x + box_mean(b, r)
