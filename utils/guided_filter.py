"""White-box's guided filter (He et al., 2010), per channel, as in the TF reference's ``guided_filter``."""
import torch
import torch.nn.functional as F


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)² window of each pixel, counting only pixels inside the image.

    WB: ``box(x)/N`` with a depthwise all-ones conv, zero 'SAME' padding and N = box(ones). Average pooling
    with ``count_include_pad=False`` is exactly that ratio, in one fused op.
    """
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


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
