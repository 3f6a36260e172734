import numpy as np
import pytest
import torch
from skimage import data, segmentation

from losses.superpixel import Superpixels, mix_colour, selective_adacolor, selective_search_labels, slic_superpixel


@pytest.fixture(scope="module")
def face():
    return (data.astronaut()[::4, ::4].astype(np.float32) / 127.5 - 1)  # 128², in G's range


def mix_reference(labels, image):
    """WB's label2rgb(kind='mix') loop, written out directly."""
    out = np.zeros_like(image)
    for label in np.unique(labels):
        m = labels == label
        std = np.std(image[m])
        if std < 20:
            c = image[m].mean(0)
        elif std <= 40:
            c = 0.5 * image[m].mean(0) + 0.5 * np.median(image[m], 0)
        else:
            c = np.median(image[m], 0)
        out[m] = c
    return out


def test_mix_colour_matches_the_reference_loop_on_0_255_values():
    image = data.astronaut()[::4, ::4].astype(np.float64)
    labels = segmentation.slic(image / 255, n_segments=60, start_label=0)
    np.testing.assert_allclose(mix_colour(labels, image), mix_reference(labels, image), atol=1e-9)


def test_mix_on_minus1_1_is_the_region_mean(face):
    labels = segmentation.slic(face, n_segments=50, start_label=0)
    out = mix_colour(labels, face)
    for label in np.unique(labels)[:10]:
        np.testing.assert_allclose(out[labels == label][0], face[labels == label].mean(0), atol=1e-5)


def test_slic_gives_at_most_about_200_flat_regions(face):
    out = slic_superpixel(face)
    assert out.shape == face.shape and out.dtype == face.dtype
    assert -1 <= out.min() and out.max() <= 1
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 220


def test_selective_search_merges_down_to_the_target(face):
    labels = selective_search_labels(face, segments=40)
    assert len(np.unique(labels)) == 40


def test_enhance_runs_and_keeps_range(face):
    out = selective_adacolor(face)
    assert out.shape == face.shape and np.isfinite(out).all()
    assert -1 <= out.min() and out.max() == pytest.approx(1.0)


def test_process_pool_equals_serial(face):
    batch = torch.from_numpy(np.stack([face, face[::-1].copy()])).permute(0, 3, 1, 2)
    serial = Superpixels(0)(batch)
    pool = Superpixels(2)
    try:
        assert torch.equal(pool(batch), serial)
    finally:
        pool.close()
    assert serial.shape == batch.shape
