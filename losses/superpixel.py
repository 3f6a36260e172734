"""Superpixel targets for the structure loss (White-box's ``simple_superpixel`` / ``selective_adacolor``).

Images are (H, W, 3) float arrays in G's range [-1, 1], passed to the segmentation as WB does (scikit-image
≥ 0.19 min-max rescales them to [0, 1] inside ``slic``; WB's pinned 0.14 took them as they were).
"""
import concurrent.futures as cf
import multiprocessing as mp

import numpy as np
import torch
from scipy import ndimage
from skimage import color, segmentation

from losses.slic_torch import slic_superpixel_torch
from utils.errors import HelperDied, exit_reason
from utils.runtime import exited, helper_process

SEGMENTS = 200


def mix_colour(labels: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Paint each region with WB's 'mix' colour: mean if its std < 20, median if std > 40, else the average of
    the two (std over all pixels and channels of the region, in the image's own units). On [-1, 1] images every
    std is < 20, so this is the region mean, as in the reference.
    """
    flat = labels.ravel()
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    pixels = image.reshape(-1, image.shape[-1]).astype(np.float64)
    sums = np.stack([np.bincount(inverse, pixels[:, c]) for c in range(pixels.shape[1])], 1)
    means = sums / counts[:, None]
    sq = np.bincount(inverse, (pixels**2).sum(1)) / (counts * pixels.shape[1])
    std = np.sqrt(np.maximum(sq - (means.sum(1) / pixels.shape[1]) ** 2, 0))  # np.std over pixels × channels
    colours = means.copy()
    for k in np.flatnonzero(std >= 20):
        median = np.median(pixels[inverse == k], axis=0)
        colours[k] = median if std[k] > 40 else 0.5 * (means[k] + median)
    return colours[inverse].reshape(image.shape).astype(image.dtype)


def slic_superpixel(image: np.ndarray, segments: int = SEGMENTS) -> np.ndarray:
    """WB ``simple_superpixel``: slic(n_segments=200, sigma=1, compactness=10, convert2lab=True) + region colour."""
    labels = segmentation.slic(image, n_segments=segments, sigma=1, compactness=10, convert2lab=True,
                               start_label=0)
    return mix_colour(labels, image)


# ---- --use_enhance: selective-search grouping (Uijlings et al., 2013) + adaptive colouring -------------------

def _histograms(image_lab: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per region: colour histograms (25 bins per Lab channel) and texture histograms (8 Gaussian-derivative
    orientations × 10 bins per channel), each L1-normalised."""
    colour, texture = [], []
    for c in range(3):
        ch = image_lab[..., c]
        lo, hi = ch.min(), ch.max() + 1e-9
        bins = np.minimum(((ch - lo) / (hi - lo) * 25).astype(int), 24)
        colour.append(np.bincount((labels * 25 + bins).ravel(), minlength=n * 25).reshape(n, 25))
        gy = ndimage.gaussian_filter(ch, 1.0, order=(1, 0))
        gx = ndimage.gaussian_filter(ch, 1.0, order=(0, 1))
        for theta in np.arange(8) * np.pi / 4:
            resp = np.cos(theta) * gx + np.sin(theta) * gy
            lo, hi = resp.min(), resp.max() + 1e-9
            bins = np.minimum(((resp - lo) / (hi - lo) * 10).astype(int), 9)
            texture.append(np.bincount((labels * 10 + bins).ravel(), minlength=n * 10).reshape(n, 10))
    colour, texture = np.concatenate(colour, 1).astype(float), np.concatenate(texture, 1).astype(float)
    return colour / colour.sum(1, keepdims=True), texture / texture.sum(1, keepdims=True)


def region_similarity(colour: np.ndarray, texture: np.ndarray, size: np.ndarray, box: np.ndarray, total: int,
                      i: int, j: int) -> float:
    """Selective search's similarity of regions i and j (Uijlings et al. 2013, the grouping White-box's
    ``selective_adacolor`` runs): colour + texture + size + fill,

        s = Σ min(c_i, c_j) + Σ min(t_i, t_j) + (1 − (n_i + n_j) / N) + (1 − (B_ij − n_i − n_j) / N),

    c, t the regions' normalised histograms, n their pixel counts, N the image's, B_ij the area of the box holding
    both (box rows: inclusive y0, x0, y1, x1)."""
    bbox = (max(box[i, 2], box[j, 2]) - min(box[i, 0], box[j, 0]) + 1) * \
           (max(box[i, 3], box[j, 3]) - min(box[i, 1], box[j, 1]) + 1)
    return (np.minimum(colour[i], colour[j]).sum() + np.minimum(texture[i], texture[j]).sum()
            + 1 - (size[i] + size[j]) / total + 1 - (bbox - size[i] - size[j]) / total)


def selective_search_labels(image: np.ndarray, segments: int = SEGMENTS) -> np.ndarray:
    """Felzenszwalb (scale 10, sigma 0.8, min_size 100), then merge the most similar neighbours (colour +
    texture + size + fill, in Lab of the 'mix'-coloured image) until ``segments`` regions remain."""
    labels = segmentation.felzenszwalb(image, scale=10, sigma=0.8, min_size=100)
    _, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(image.shape[:2])
    n = labels.max() + 1
    if n <= segments:
        return labels
    lab = color.rgb2lab(mix_colour(labels, image))
    colour, texture = _histograms(lab, labels, n)
    size = np.bincount(labels.ravel(), minlength=n).astype(float)
    ys, xs = np.indices(labels.shape)
    box = np.stack([ndimage.minimum(ys, labels, range(n)), ndimage.minimum(xs, labels, range(n)),
                    ndimage.maximum(ys, labels, range(n)), ndimage.maximum(xs, labels, range(n))], 1)
    total = labels.size
    neighbours = set()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        edge = a != b
        neighbours |= {(min(i, j), max(i, j)) for i, j in zip(a[edge].tolist(), b[edge].tolist())}

    def similarity(i, j):
        return region_similarity(colour, texture, size, box, total, i, j)

    sims = {pair: similarity(*pair) for pair in neighbours}
    parent = np.arange(n)
    alive = n
    while alive > segments and sims:
        i, j = max(sims, key=sims.get)
        s = size[i] + size[j]
        colour[i] = (colour[i] * size[i] + colour[j] * size[j]) / s
        texture[i] = (texture[i] * size[i] + texture[j] * size[j]) / s
        size[i] = s
        box[i] = [min(box[i, 0], box[j, 0]), min(box[i, 1], box[j, 1]),
                  max(box[i, 2], box[j, 2]), max(box[i, 3], box[j, 3])]
        parent[parent == j] = i
        touching = {k for pair in sims if i in pair or j in pair for k in pair} - {i, j}
        sims = {pair: v for pair, v in sims.items() if i not in pair and j not in pair}
        sims.update({(min(i, k), max(i, k)): similarity(i, k) for k in touching})
        alive -= 1
    return parent[labels]


def selective_adacolor(image: np.ndarray, segments: int = SEGMENTS, power: float = 1.2) -> np.ndarray:
    """WB ``color_ss_map`` + adaptive colouring: x -> ((x+1)/2)^power / max -> back to [-1, 1].

    (x+1)/2 is clipped to [0, 1] first: G's output can stray below −1, and a negative base to a fractional
    power is NaN in the reference.
    """
    painted = mix_colour(selective_search_labels(image, segments), image)
    x = np.clip((painted + 1) / 2, 0, 1) ** power
    return (x / max(x.max(), 1e-8) * 2 - 1).astype(image.dtype)


def _one(args) -> np.ndarray:
    image, enhance = args
    return selective_adacolor(image) if enhance else slic_superpixel(image)


class Superpixels:
    """Superpixel targets of a batch.

    method 'skimage': image by image on ``workers`` processes (0: in this process); ``submit(batch)`` returns at
    once with a handle whose ``result()`` is the (B, 3, H, W) target on the batch's device, so the caller runs
    the VGG and discriminator forwards while the processes segment. method 'torch': the batched SLIC of
    ``losses.slic_torch`` on the batch's own device (for GPUs; --use_enhance always uses the processes).
    """

    def __init__(self, workers: int = 0, enhance: bool = False, method: str = "skimage"):
        self.enhance, self.method = enhance, "skimage" if enhance else method
        use_pool = workers and self.method == "skimage"
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                           initializer=helper_process) if use_pool else None
        self.processes = []

    def submit(self, batch: torch.Tensor) -> "Pending":
        if self.method == "torch":
            target = slic_superpixel_torch(batch.detach())  # queued on the batch's device
            return Pending(lambda: target)
        images = batch.detach().float().permute(0, 2, 3, 1).cpu().numpy()
        jobs = [(image, self.enhance) for image in images]
        if self.pool is None:
            arrays = [_one(j) for j in jobs]
            return Pending(lambda: _to_batch(arrays, batch))
        try:
            futures = [self.pool.submit(_one, j) for j in jobs]
        except cf.process.BrokenProcessPool:
            raise HelperDied(self._died()) from None
        # the executor's own record of its workers, kept here: a broken pool's manager thread clears its own
        self.processes = list(getattr(self.pool, "_processes", {}).values()) or self.processes
        return Pending(lambda: _to_batch(self._results(futures), batch))

    def _results(self, futures) -> list[np.ndarray]:
        try:
            return [f.result() for f in futures]
        except cf.process.BrokenProcessPool:
            raise HelperDied(self._died()) from None

    def _died(self) -> str:
        """Which helper died, and the others SIGKILLed. The executor ends a broken pool by sending the survivors
        SIGTERM, which helpers ignore (utils.runtime.helper_process), and then waits for them: without this its
        shutdown, and the interpreter's exit, would wait for ever."""
        processes = self.processes
        dead = exited(processes)  # a helper killed while handing back a result breaks the pool's pipe first
        for p in processes:
            if p.exitcode is None:
                p.kill()
        how = ", ".join(f"{p.pid} ({exit_reason(p.exitcode)})" for p in dead) or "unknown"
        return f"a superpixel helper process died: {how}"

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return self.submit(batch).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class Pending:
    """A superpixel target being computed; ``result()`` waits for it."""

    def __init__(self, get):
        self.result = get


def _to_batch(arrays: list[np.ndarray], like: torch.Tensor) -> torch.Tensor:
    """(H, W, 3) arrays -> (B, 3, H, W) on ``like``'s device and dtype."""
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).to(like.device, like.dtype, non_blocking=True)
