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


def test_region_histograms_match_numpys_histogram():
    """Colour: 25 equal bins per Lab channel over the image's range; texture: 10 bins of each of 8 oriented
    Gaussian-derivative responses (σ 1) per channel; each region's histograms L1-normalised (numpy's histogram)."""
    from scipy import ndimage
    from skimage import color

    from losses.superpixel import _histograms

    lab = color.rgb2lab(data.astronaut()[100:164, 150:214])
    labels = (np.arange(64)[:, None] // 16) * 4 + np.arange(64)[None] // 16  # 16 blocks of 16×16
    colour, texture = _histograms(lab, labels, 16)
    for r in (0, 5, 15):
        want_c, want_t = [], []
        for c in range(3):
            ch = lab[..., c]
            want_c.append(np.histogram(ch[labels == r], 25, (ch.min(), ch.max() + 1e-9))[0])
            gy, gx = ndimage.gaussian_filter(ch, 1.0, order=(1, 0)), ndimage.gaussian_filter(ch, 1.0, order=(0, 1))
            for theta in np.arange(8) * np.pi / 4:
                resp = np.cos(theta) * gx + np.sin(theta) * gy
                want_t.append(np.histogram(resp[labels == r], 10, (resp.min(), resp.max() + 1e-9))[0])
        want_c, want_t = np.concatenate(want_c), np.concatenate(want_t)
        np.testing.assert_allclose(colour[r], want_c / want_c.sum(), atol=1e-12)
        np.testing.assert_allclose(texture[r], want_t / want_t.sum(), atol=1e-12)


def merge_from_scratch(image, labels, segments):
    """Selective search's hierarchical grouping (Uijlings et al. 2013) recomputed from the pixels at every step:
    the most similar neighbouring pair (colour + texture histogram intersection + size + fill, histograms of the
    union's pixels) is merged until ``segments`` regions remain. No incremental bookkeeping, unlike the module."""
    from skimage import color

    from losses.superpixel import _histograms

    lab = color.rgb2lab(mix_colour(labels, image))
    n0, total = labels.max() + 1, labels.size
    colour0, texture0 = _histograms(lab, labels, n0)  # per initial region; unions are size-weighted sums
    size0 = np.bincount(labels.ravel(), minlength=n0).astype(float)
    current = labels.copy()
    while len(np.unique(current)) > segments:
        regions = np.unique(current)
        members = {r: np.unique(labels[current == r]) for r in regions}
        hist = {r: ((colour0[m] * size0[m, None]).sum(0) / size0[m].sum(),
                    (texture0[m] * size0[m, None]).sum(0) / size0[m].sum(), size0[m].sum()) for r, m in members.items()}
        pairs = set()
        for a, b in ((current[:, :-1], current[:, 1:]), (current[:-1], current[1:])):
            edge = a != b
            pairs |= {(min(i, j), max(i, j)) for i, j in zip(a[edge].tolist(), b[edge].tolist())}

        def sim(i, j):
            ys, xs = np.nonzero((current == i) | (current == j))
            bbox = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
            (ci, ti, si), (cj, tj, sj) = hist[i], hist[j]
            return (np.minimum(ci, cj).sum() + np.minimum(ti, tj).sum() + 1 - (si + sj) / total
                    + 1 - (bbox - si - sj) / total)

        i, j = max(sorted(pairs), key=lambda p: sim(*p))
        current[current == j] = i
    return current


def test_selective_search_merges_as_a_from_scratch_grouping_does():
    image = data.astronaut()[60:220, 140:300:2].astype(np.float32) / 127.5 - 1  # the face, 160×80
    start = segmentation.felzenszwalb(image, scale=10, sigma=0.8, min_size=100)
    start = np.unique(start, return_inverse=True)[1].reshape(start.shape)
    assert start.max() + 1 > 16  # enough regions to merge
    for segments in (14, 10, 7, 4):  # each stage of the grouping, not only its end
        got, want = selective_search_labels(image, segments), merge_from_scratch(image, start, segments)
        assert len(np.unique(got)) == segments
        pairs = set(zip(got.ravel().tolist(), want.ravel().tolist()))
        assert len(pairs) == segments, segments  # the same partition, whatever the labels are called


def test_region_similarity_is_colour_texture_size_and_fill():
    """s = Σ min(c_i, c_j) + Σ min(t_i, t_j) + (1 − (n_i + n_j)/N) + (1 − (B_ij − n_i − n_j)/N), by hand: colour
    0.2 + 0.5, texture 0.5 + 0, size 1 − 10/100, fill 1 − (4·5 − 10)/100 (a 2×2 box and a 2×3 box whose joint
    box is 4×5)."""
    from losses.superpixel import region_similarity

    colour = np.array([[0.5, 0.5], [0.2, 0.8]])
    texture = np.array([[1.0, 0.0], [0.5, 0.5]])
    size = np.array([4.0, 6.0])
    box = np.array([[0, 0, 1, 1], [2, 2, 3, 4]])
    assert region_similarity(colour, texture, size, box, 100, 0, 1) == pytest.approx(0.7 + 0.5 + 0.9 + 0.9)


def test_adaptive_colouring_of_the_selective_search_painting(face):
    """WB's adaptive colouring on the 'mix' painting of the regions: x = clip((p + 1)/2, 0, 1)^1.2, then
    x / max(x)·2 − 1, in the image's dtype; computed here from the labels, on an image that strays past ±1 as G's
    output can."""
    image = np.clip(face * 1.3, -1.2, 1.2).astype(np.float32)
    painted = mix_colour(selective_search_labels(image, 30), image).astype(np.float64)
    assert painted.min() < -1 and painted.max() > 1  # both clips matter
    x = np.clip((painted + 1) / 2, 0, 1) ** 1.2
    want = x / x.max() * 2 - 1
    got = selective_adacolor(image, 30)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert not np.allclose(selective_adacolor(image), got, atol=1e-3)  # the default is 200 regions, not 30


def test_slic_target_is_white_boxs_call_painted_and_enhance_takes_selective_search(face):
    """simple_superpixel: slic(n_segments=200, sigma=1, compactness=10, convert2lab=True) labels, each region
    painted by mix_colour; Superpixels(enhance=True) paints selective_adacolor instead. The batch comes back in
    the input's dtype and on its device."""
    from losses.superpixel import _to_batch

    labels = segmentation.slic(face, n_segments=200, sigma=1, compactness=10, convert2lab=True, start_label=0)
    np.testing.assert_array_equal(slic_superpixel(face), mix_colour(labels, face))
    batch = torch.from_numpy(face[None]).permute(0, 3, 1, 2)
    np.testing.assert_array_equal(Superpixels(0, enhance=True)(batch)[0].permute(1, 2, 0).numpy(),
                                  selective_adacolor(face))
    assert _to_batch([face], batch.bfloat16()).dtype == torch.bfloat16
    assert _to_batch([face], batch.to("meta")).device.type == "meta"


def test_who_computes_the_targets():
    """No workers or method 'torch': this process; workers with 'skimage' (and always with enhance): a pool of
    that many spawned processes (forking a process that ran torch is unsafe) set up by helper_process."""
    from losses.superpixel import helper_process

    assert Superpixels().pool is None and Superpixels().method == "skimage"
    assert Superpixels(2, method="torch").pool is None
    for s in (Superpixels(3), Superpixels(3, enhance=True, method="torch")):  # 3: not the default (cores)
        try:  # the executor starts its processes at the first submit: nothing is spawned here
            assert s.method == "skimage" and s.pool._max_workers == 3 and s.pool._initializer is helper_process
            assert s.pool._mp_context.get_start_method() == "spawn"
        finally:
            s.close()


def test_a_helper_killed_while_handing_back_a_result_is_named(monkeypatch):
    """A superpixel helper killed while its result is on the way: the pool's pipe breaks (here the main side's
    unpickling raises EOFError, as a half-sent result does) before the kernel has reaped the helper (SIGKILL 0.1 s
    later). The pool is broken at once, and the line must still name the helper and its signal, not 'unknown'."""
    import multiprocessing.reduction
    import os
    import signal
    import threading

    from utils.errors import HelperDied

    superpixels = Superpixels(workers=1)
    batch = torch.rand(1, 3, 32, 32) * 2 - 1
    try:
        superpixels(batch)
        helper = next(iter(superpixels.pool._processes.values()))

        def handing_back(*args, **kwargs):
            threading.Timer(0.1, os.kill, (helper.pid, signal.SIGKILL)).start()
            raise EOFError

        monkeypatch.setattr(multiprocessing.reduction.ForkingPickler, "loads", handing_back)
        with pytest.raises(HelperDied, match=rf"a superpixel helper process died: {helper.pid} \(killed by SIGKILL\)"):
            superpixels(batch)
    finally:
        monkeypatch.undo()
        superpixels.close()
