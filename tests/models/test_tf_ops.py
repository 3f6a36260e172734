import torch
import torch.nn.functional as F

from models.tf_ops import Conv2dSame, same_padding, tf_resize_bilinear_2x


def test_same_padding_matches_tf_rule():
    # TF: out = ceil(n/s); pad_total = max((out-1)*s + k - n, 0); before = total // 2
    assert same_padding(8, 3, 2) == (0, 1)   # even size, stride 2: one after only
    assert same_padding(7, 3, 2) == (1, 1)   # odd size: symmetric
    assert same_padding(8, 3, 1) == (1, 1)
    assert same_padding(8, 7, 1) == (3, 3)
    assert same_padding(5, 1, 1) == (0, 0)


def test_stride2_conv_pads_bottom_right_on_even_input():
    conv = Conv2dSame(1, 1, 3, stride=2)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # picks the top-left tap of each window
        conv.bias.zero_()
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # no top/left padding: window (i, j) starts at input (2i, 2j)
    assert torch.equal(conv(x)[0, 0], torch.tensor([[0.0, 2.0], [8.0, 10.0]]))
    odd = torch.arange(25.0).reshape(1, 1, 5, 5)
    # odd size: one pixel of padding on every side, so window (0, 0) starts at (-1, -1) -> 0
    assert conv(odd)[0, 0, 0, 0] == 0 and conv(odd)[0, 0, 1, 1] == 6.0


def test_stride1_conv_equals_symmetric_padding():
    conv = Conv2dSame(2, 3, 3)
    x = torch.randn(1, 2, 6, 5)
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1)), conv.weight, conv.bias)
    assert torch.allclose(conv(x), ref, atol=1e-6)


def test_tf_resize_bilinear_hand_computed():
    x = torch.tensor([[1.0, 3.0, 7.0]]).reshape(1, 1, 1, 3)
    # TF1 samples j/2: [in0, (in0+in1)/2, in1, (in1+in2)/2, in2, in2]
    out = tf_resize_bilinear_2x(x)
    assert out.shape == (1, 1, 2, 6)
    assert torch.equal(out[0, 0, 0], torch.tensor([1.0, 2.0, 3.0, 5.0, 7.0, 7.0]))
    assert torch.equal(out[0, 0, 1], out[0, 0, 0])  # one row: the second output row repeats it


def test_tf_resize_bilinear_2d_even():
    x = torch.tensor([[0.0, 4.0], [8.0, 12.0]]).reshape(1, 1, 2, 2)
    expected = torch.tensor([[0.0, 2.0, 4.0, 4.0],
                             [4.0, 6.0, 8.0, 8.0],
                             [8.0, 10.0, 12.0, 12.0],
                             [8.0, 10.0, 12.0, 12.0]])
    assert torch.equal(tf_resize_bilinear_2x(x)[0, 0], expected)


def test_tf_resize_differs_from_half_pixel_interpolate():
    x = torch.randn(1, 2, 5, 4)
    torch_half_pixel = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert not torch.allclose(tf_resize_bilinear_2x(x), torch_half_pixel)
