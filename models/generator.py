"""White-box Cartoonization's generator: ``unet_generator(channel=32, num_blocks=4)`` of the TF reference."""
import torch
import torch.nn.functional as F
from torch import nn

from models.conventions import CartoonGenerator
from models.tf_ops import Conv2dSame, tf_resize_bilinear_2x


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class ResBlock(nn.Module):
    """conv3×3, lrelu, conv3×3, + input (no activation after the sum, as in the reference)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = Conv2dSame(channels, channels, 3)
        self.conv2 = Conv2dSame(channels, channels, 3)

    def forward(self, x):
        return x + self.conv2(lrelu(self.conv1(x)))


TRAIN_EPS, TEST_EPS = 1e-2, 5e-3  # WB: guided_filter(photo, G(photo), r=1) with eps 1e-2 (train), 5e-3 (test)


class Generator(CartoonGenerator):
    """U-Net with two additive skips; (B, 3, H, W) -> (B, 3, H, W) for H, W divisible by 4.

    Layers in the TF variable order (Conv, Conv_1, ..., block_0..3, ..., Conv_9), 1,467,075 parameters:
        x0 = lrelu(conv7×7→c)                      x1 = lrelu(conv3×3→2c (lrelu(conv3×3 s2→c x0)))
        x2 = lrelu(conv3×3→4c (lrelu(conv3×3 s2→2c x1)));  x2 = resblocks(x2);  x2 = lrelu(conv3×3→2c x2)
        x3 = lrelu(conv3×3→c (lrelu(conv3×3→2c (up(x2) + x1))))
        x4 = lrelu(conv3×3→c (up(x3) + x0));       out = conv7×7→3 x4
    The output has no activation, as in the reference (its tf.clip_by_value is commented out): training
    judges the raw output after the guided filter, and images are clipped to [-1, 1] only when written.
    Weights start Glorot-uniform with zero biases (TF slim's defaults).

    Conventions (``models.conventions``): RGB in and out (the converter reversed White-box's BGR first and last
    convs), sizes multiple of 4, the guided filter after G at training and test time, trained at 256².
    """
    name, channel_order, size_multiple, native_size = "whitebox", "RGB", 4, 256
    train_eps, test_eps = TRAIN_EPS, TEST_EPS

    def __init__(self, channel: int = 32, num_blocks: int = 4):
        super().__init__()
        self.channel, self.num_blocks = channel, num_blocks
        c = channel
        self.conv0 = Conv2dSame(3, c, 7)
        self.down1 = Conv2dSame(c, c, 3, stride=2)
        self.conv1 = Conv2dSame(c, 2 * c, 3)
        self.down2 = Conv2dSame(2 * c, 2 * c, 3, stride=2)
        self.conv2 = Conv2dSame(2 * c, 4 * c, 3)
        self.blocks = nn.Sequential(*[ResBlock(4 * c) for _ in range(num_blocks)])
        self.conv3 = Conv2dSame(4 * c, 2 * c, 3)
        self.up1a = Conv2dSame(2 * c, 2 * c, 3)
        self.up1b = Conv2dSame(2 * c, c, 3)
        self.up2 = Conv2dSame(c, c, 3)
        self.out = Conv2dSame(c, 3, 7)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def arch(self) -> dict:
        return {"generator": self.name, "channel": self.channel, "num_blocks": self.num_blocks}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = lrelu(self.conv0(x))
        x1 = lrelu(self.conv1(lrelu(self.down1(x0))))
        x2 = lrelu(self.conv2(lrelu(self.down2(x1))))
        x2 = lrelu(self.conv3(self.blocks(x2)))
        x3 = lrelu(self.up1b(lrelu(self.up1a(tf_resize_bilinear_2x(x2) + x1))))
        x4 = lrelu(self.up2(tf_resize_bilinear_2x(x3) + x0))
        return self.out(x4)

