import numpy as np
import torch

from losses.texture import RANGES, color_shift, draw_channel_mix


def test_weights_are_one_scalar_per_channel_inside_the_ranges():
    for seed in range(200):
        w = draw_channel_mix(generator=torch.Generator().manual_seed(seed))
        assert w.shape == (3,)
        for value, (lo, hi) in zip(w.tolist(), RANGES):
            assert lo <= value <= hi


def test_ranges_are_white_box_bgr_ranges_in_rgb_order():
    # WB: b in U[0.014, 0.214], g in U[0.487, 0.687], r in U[0.199, 0.399] on BGR images
    assert RANGES == ((0.199, 0.399), (0.487, 0.687), (0.014, 0.214))


def test_same_weights_give_the_same_gray_for_identical_inputs_and_match_numpy():
    w = draw_channel_mix(generator=torch.Generator().manual_seed(1))
    fake, cartoon = torch.rand(2, 3, 5, 5), torch.rand(2, 3, 5, 5)
    gray_fake, gray_cartoon = color_shift(fake, w), color_shift(cartoon, w)
    assert gray_fake.shape == (2, 1, 5, 5)
    wr, wg, wb = w.tolist()
    for x, gray in ((fake, gray_fake), (cartoon, gray_cartoon)):
        a = x.numpy()
        ref = (wr * a[:, 0] + wg * a[:, 1] + wb * a[:, 2]) / (wr + wg + wb)
        np.testing.assert_allclose(gray[:, 0].numpy(), ref, rtol=1e-5)


def test_spatially_uniform_weights():
    """One weight per channel per step, not per pixel (the earlier PyTorch port's bug, docs/fidelity.md): an image
    whose three channels are different constants stays constant, at (wr·r + wg·g + wb·b)/(wr + wg + wb). Equal
    channels would not tell."""
    image = torch.tensor([0.9, 0.1, -0.5]).view(1, 3, 1, 1).expand(2, 3, 6, 6)
    w = draw_channel_mix()
    gray = color_shift(image, w)
    want = float((w * torch.tensor([0.9, 0.1, -0.5])).sum() / w.sum())
    assert torch.allclose(gray, torch.full_like(gray, want), atol=1e-6)


def test_independent_draws_differ():
    assert not torch.equal(draw_channel_mix(), draw_channel_mix())


def test_weights_follow_the_generator_the_device_and_the_image_dtype():
    """The given generator alone decides the draw (not the global RNG); the weights land on the asked device and
    take the image's dtype and device (a bf16 image gives a bf16 gray image; 'meta' stands in for a GPU)."""
    from losses.texture import color_shift, draw_channel_mix

    torch.manual_seed(1)
    a = draw_channel_mix(generator=torch.Generator().manual_seed(7))
    torch.manual_seed(2)
    b = draw_channel_mix(generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert draw_channel_mix(torch.device("meta")).device.type == "meta"
    image = torch.rand(2, 3, 4, 4, dtype=torch.bfloat16)
    assert color_shift(image, a).dtype == torch.bfloat16
    assert color_shift(image.to("meta"), a).device.type == "meta"
