import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import color, data
from skimage.segmentation import find_boundaries, slic

from losses.slic_torch import _grid, gaussian_blur, rgb2lab, slic_labels, slic_superpixel_torch
from losses.superpixel import Superpixels, slic_superpixel

PHOTOS = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}


def as_input(image, size=128):
    return image[:size, :size].astype(np.float64) / 127.5 - 1


def skimage_slic(img, **kw):
    return slic(img, n_segments=200, sigma=1, compactness=10, convert2lab=True, start_label=0, **kw)


def boundary_recall(reference, labels, tolerance=2):
    """Share of the reference's boundary pixels within ``tolerance`` px of a boundary of ``labels``."""
    ref = find_boundaries(reference, mode="inner")
    near = ndimage.binary_dilation(find_boundaries(labels, mode="inner"), iterations=tolerance)
    return (ref & near).sum() / ref.sum()


def undersegmentation_error(reference, labels):
    """Neubert & Protzel: Σ_s Σ_g∩s≠∅ min(|s∩g|, |s∖g|) / N, s in labels, g in the reference."""
    joint = np.bincount((labels.ravel() * (reference.max() + 1) + reference.ravel()))
    sizes = np.bincount(labels.ravel())
    err = 0
    for idx in np.flatnonzero(joint):
        s, _ = divmod(idx, reference.max() + 1)
        err += min(joint[idx], sizes[s] - joint[idx])
    return err / labels.size


def test_rgb2lab_and_blur_match_skimage_and_scipy():
    img = as_input(data.astronaut(), 64)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    np.testing.assert_allclose(rgb2lab(t)[0].permute(1, 2, 0).numpy(), color.rgb2lab(img), atol=1e-9)
    np.testing.assert_allclose(gaussian_blur(t)[0].permute(1, 2, 0).numpy(),
                               ndimage.gaussian_filter(img, (1, 1, 0), mode="reflect"), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", list(PHOTOS))
def test_labels_equal_skimage_before_its_connectivity_pass(name, dtype):
    img = as_input(PHOTOS[name])
    labels = slic_labels(torch.from_numpy(img).permute(2, 0, 1)[None], dtype=dtype)[0].numpy()
    same = (labels == skimage_slic(img, enforce_connectivity=False)).mean()
    assert same == 1.0 if dtype == torch.float64 else same > 0.99  # float32: a tie may round the other way


def block_image(seed, shape):
    """A flat background, up to nine rectangles in saturated colours and a little noise (so that distances do not
    tie): on such images seeds wander far from their grid positions, some stop early (no pixel changes), and a
    pixel's nearest seed in colour often lies just inside or just outside a window; photos rarely show any of it."""
    rng = np.random.default_rng(seed)
    h, w = shape
    img = np.full((h, w, 3), 0.1 + 0.8 * rng.random(3))
    for _ in range(int(rng.integers(1, 10))):
        (y, x), (dy, dx) = rng.integers(0, min(h, w), 2), rng.integers(1, 20, 2)
        img[y:y + dy, x:x + dx] = 0.1 + 0.8 * (rng.random(3) > 0.5)
    return np.clip(img + 0.02 * rng.standard_normal(img.shape), 0, 1), int(rng.choice([9, 16, 25]))


def torch_labels(img, n_segments, **kw):
    return slic_labels(torch.from_numpy(img).permute(2, 0, 1)[None], n_segments, **kw)[0].numpy()


@pytest.mark.parametrize("shape", [(32, 32), (48, 48), (32, 24), (48, 40), (5, 160)])
def test_labels_equal_skimage_on_block_images_where_seeds_wander(shape):
    """skimage's windows, exactly: floor(max(c − 2s, 0)) ≤ p < floor(min(c + 2s + 1, size)) around each seed's
    current centre, however far it has wandered, with s recomputed from the number of seeds (32×24 with 9 segments:
    12 seeds 9 apart, windows ±16), per axis (the 5×160 strip: ±5 rows, ±10 columns)."""
    for seed in range(8):
        img, n = block_image(seed, shape)
        labels = torch_labels(img, n)
        assert labels.shape == shape
        np.testing.assert_array_equal(
            labels, slic(img, n_segments=n, sigma=1, compactness=10, start_label=0, enforce_connectivity=False))


def test_a_seed_that_wins_no_pixel_drops_out_as_in_skimage():
    """skimage divides each seed's sums by its count as they are: 0/0 makes an emptied seed NaN, and it never wins
    a pixel again (keeping its last centre, or moving it to (0, 0), gives other labels)."""
    img, n = block_image(63, (32, 24))  # found by search: 25 segments, 20 seeds, one emptied on the way
    labels = torch_labels(img, n)
    np.testing.assert_array_equal(
        labels, slic(img, n_segments=n, sigma=1, compactness=10, start_label=0, enforce_connectivity=False))
    assert len(np.unique(labels)) == len(_grid(32, 24, n)[0]) - 1


def test_a_float32_photo_gets_skimages_labels_with_white_boxs_200_segments_by_default():
    """A float32 input gives skimage's float64 labels, and the default is White-box's 200 segments (at 248² their
    grid, 18 px apart, is not that of 201 segments, 17 px)."""
    img = data.astronaut()[:248, 100:348].astype(np.float32) / 255
    labels = slic_labels(torch.from_numpy(img).permute(2, 0, 1)[None])[0].numpy()
    np.testing.assert_array_equal(
        labels, slic(img.astype(np.float64), n_segments=200, sigma=1, start_label=0, enforce_connectivity=False))


def test_each_image_of_a_batch_is_rescaled_alone_and_sigma_and_compactness_are_passed_on():
    a, n = block_image(1, (32, 32))
    b = 0.2 + 0.5 * block_image(2, (32, 32))[0]  # another range
    batch = torch.from_numpy(np.stack([a, b])).permute(0, 3, 1, 2)
    labels = slic_labels(batch, n, sigma=2.0, compactness=20.0).numpy()
    for got, img in zip(labels, (a, b)):
        np.testing.assert_array_equal(
            got, slic(img, n_segments=n, sigma=2, compactness=20, start_label=0, enforce_connectivity=False))


def test_a_flat_image_is_cut_into_the_seeds_nearest_cells():
    """Nothing to rescale (max = min): no division by zero, every pixel joins its nearest seed, as in skimage."""
    img = np.full((32, 32, 3), 0.4)
    labels = torch_labels(img, 16)
    np.testing.assert_array_equal(labels, slic(img, n_segments=16, start_label=0, enforce_connectivity=False))
    assert len(np.unique(labels)) == 16


@pytest.mark.parametrize("name", list(PHOTOS))
def test_against_full_skimage_slic_boundary_recall_and_undersegmentation(name):
    img = as_input(PHOTOS[name])
    labels = slic_labels(torch.from_numpy(img).permute(2, 0, 1)[None])[0].numpy()
    reference = skimage_slic(img)
    assert boundary_recall(reference, labels) > 0.98
    # the whole gap is skimage's connectivity pass: its own un-enforced labels are as far from it (0.05-0.08)
    unenforced = skimage_slic(img, enforce_connectivity=False)
    assert undersegmentation_error(reference, labels) < undersegmentation_error(reference, unenforced) + 0.01


def test_both_superpixel_paths_agree_in_shape_range_and_values():
    batch = torch.from_numpy(np.stack([as_input(PHOTOS[n], 128) for n in PHOTOS])).permute(0, 3, 1, 2).float()
    a = Superpixels(0, method="skimage")(batch)
    b = Superpixels(0, method="torch")(batch)
    assert a.shape == b.shape == batch.shape and a.dtype == b.dtype == batch.dtype
    assert -1 <= b.min() and b.max() <= 1
    # painted colours: mean absolute difference of the two targets, in [-1, 1] units
    assert (a - b).abs().mean() < 0.02
    assert torch.allclose(b[0], slic_superpixel_torch(batch[:1])[0])
    np.testing.assert_allclose(a[0].permute(1, 2, 0).numpy(), slic_superpixel(batch[0].permute(1, 2, 0).numpy()))


def test_paint_mean_by_hand_in_float64_with_a_one_pixel_region():
    """Each region takes its mean colour, computed in the image's dtype; a region of one pixel keeps its own."""
    from losses.slic_torch import paint_mean

    image = torch.rand(2, 3, 4, 5, dtype=torch.float64)
    labels = torch.zeros(2, 4, 5, dtype=torch.long)
    labels[:, :, 3:] = 1
    labels[0, 0, 0] = 2  # one pixel
    painted = paint_mean(labels, image)
    assert painted.dtype == torch.float64
    for b in range(2):
        for k in labels[b].unique():
            region = labels[b] == k
            want = image[b][:, region].mean(1)
            torch.testing.assert_close(painted[b][:, region], want[:, None].expand(-1, int(region.sum())))
    torch.testing.assert_close(painted[0, :, 0, 0], image[0, :, 0, 0])


def test_blur_of_another_sigma_matches_scipy():
    """σ = 2: the kernel radius is int(4σ + 0.5) = 8 and the weights exp(−t²/2σ²), as scipy's gaussian_filter."""
    img = as_input(data.astronaut(), 48)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    np.testing.assert_allclose(gaussian_blur(t, 2.0)[0].permute(1, 2, 0).numpy(),
                               ndimage.gaussian_filter(img, (2, 2, 0), mode="reflect"), atol=1e-12)
