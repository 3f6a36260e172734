from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from losses.gradients import edge_magnitude
from losses.landmark import heatmaps, landmark_loss
from utils.faces.landmarks import FaceLandmarks
from utils.faces.layout import PARTS


@pytest.fixture(scope="module")
def face():
    """astronaut's face region at 128², its 68 landmarks there, as a [-1, 1] tensor."""
    crop = data.astronaut()[40:200, 140:300]
    crop = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    points = FaceLandmarks()(crop)
    x = torch.from_numpy(crop).permute(2, 0, 1).float()[None] / 127.5 - 1
    return x, torch.from_numpy(points)[None]


def test_heatmap_peaks_on_each_landmark():
    points = torch.tensor([[[10.0, 20.0]] * 68])
    points[0, 40] = torch.tensor([50.0, 30.0])  # one eye point elsewhere
    maps = heatmaps(points, 64, sigma=1.5)
    assert maps.shape == (1, len(PARTS), 64, 64)
    eyes = maps[0, list(PARTS).index("eyes")]
    assert eyes[30, 50] == pytest.approx(1.0) and eyes[20, 10] == pytest.approx(1.0)
    assert maps[0, 0].argmax() == 20 * 64 + 10
    assert maps.max() <= 1.0


def test_sigma_sets_the_width():
    points = torch.full((1, 68, 2), 32.0)
    maps = heatmaps(points, 64, sigma=2.0)
    assert maps[0, 0, 32, 34].item() == pytest.approx(np.exp(-4 / 8), rel=1e-5)


def test_zero_for_identical_images(face):
    x, points = face
    assert landmark_loss(x, x, heatmaps(points, 128, 2.0)).item() == pytest.approx(0.0, abs=1e-7)


def test_grows_when_the_eyes_are_blurred(face):
    x, points = face
    maps = heatmaps(points, 128, 2.0)
    blurred = x.clone()
    eyes = points[0, 36:48]
    x0, y0 = (eyes.min(0).values - 6).int().tolist()
    x1, y1 = (eyes.max(0).values + 6).int().tolist()
    region = blurred[..., y0:y1, x0:x1].clone()
    blurred[..., y0:y1, x0:x1] = torch.nn.functional.avg_pool2d(region, 7, 1, 3, count_include_pad=False)
    assert not torch.equal(blurred, x)  # the eyes really are blurred
    mild = x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    # blurring the eyes costs more than faint noise all over the face, which costs more than nothing
    assert landmark_loss(blurred, x, maps) > 2 * landmark_loss(mild, x, maps) > 0


def test_ignores_pixels_far_from_landmarks(face):
    x, points = face
    maps = heatmaps(points, 128, 2.0)
    changed = x.clone()
    changed[..., :8, :8] = torch.rand(1, 3, 8, 8)  # a corner far from every landmark
    base = landmark_loss(x + 0.1 * torch.sin(torch.arange(128.0) / 3), x, maps)
    again = landmark_loss(changed + 0.1 * torch.sin(torch.arange(128.0) / 3), x, maps)
    assert again.item() == pytest.approx(base.item(), rel=1e-6, abs=1e-9)


def test_no_face_gives_zero_not_nan():
    x = torch.rand(2, 3, 16, 16)
    maps = heatmaps(torch.full((2, 68, 2), float("nan")), 16, 1.0)
    assert landmark_loss(x, x.flip(-1), maps).item() == 0.0


def test_gradcheck_float64():
    torch.manual_seed(0)
    out = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    photo = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    maps = heatmaps(torch.rand(1, 68, 2, dtype=torch.float64) * 8, 8, 1.5)
    assert torch.autograd.gradcheck(lambda o: landmark_loss(o, photo, maps), (out,))


def test_the_landmark_loss_and_the_loader_do_not_load_dlib():
    """dlib (3.5 s to import) is for finding faces; the loss and the data loader use the dlib-free layout."""
    import subprocess
    import sys
    code = "import losses.landmark, datasets.folder, training.steps, sys; assert 'dlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_overlapping_parts_count_once_max_not_sum():
    """H = max over the part maps: a pixel covered by four parts weighs as much as one covered by one. Region A
    (part 0 alone) has edge error 1, region B (parts 1–4 together) none: the loss is |A| / (|A| + |B|) = 1/2; a
    sum of the maps would give |A| / (|A| + 4|B|) = 1/5."""
    maps = torch.zeros(1, 5, 8, 8)
    maps[0, 0, :, :4] = 1  # A: left half, one part
    maps[0, 1:, :, 4:] = 1  # B: right half, four parts at once
    photo = torch.zeros(1, 3, 8, 8)
    output = photo.clone()
    import losses.landmark as landmark
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., :4] = 1  # |∇output − ∇photo| = 1 on A, 0 on B
    original = landmark.edge_magnitude
    try:
        landmark.edge_magnitude = lambda x: edge if x is output else torch.zeros_like(edge)
        assert landmark.landmark_loss(output, photo, maps).item() == pytest.approx(0.5)
    finally:
        landmark.edge_magnitude = original


def numpy_guided_filter(x: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter, each channel guided by itself, box sums over a (2r+1)² window with zeros outside
    and N the count of pixels inside (White-box's tf_box_filter): written with OpenCV's box filter, apart from the
    project's torch code. x: (H, W, C) float64."""
    box = lambda a: cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=False,  # noqa: E731
                                  borderType=cv2.BORDER_CONSTANT)
    N = box(np.ones(x.shape[:2]))[..., None]
    mean = box(x) / N
    var = box(x * x) / N - mean**2
    A = var / (var + eps)
    b = mean - A * mean
    return box(A) / N * x + box(b) / N


def numpy_edges(rgb: np.ndarray) -> np.ndarray:
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    gx = cv2.Sobel(luma, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE) / 8
    gy = cv2.Sobel(luma, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE) / 8
    return np.sqrt(gx**2 + gy**2 + 1e-12)


def test_the_surface_view_equals_an_independent_computation(face):
    """L = Σ H·|∇S(out) − ∇S(photo)| / Σ H, S = guided_filter(I, I, r=5, eps=0.2), computed here with OpenCV and
    numpy (box filters, Sobel, Gaussians) on the astronaut and a cartoon-like version of it."""
    from losses.landmark import landmark_term

    x, points = face
    out = torch.from_numpy(cv2.bilateralFilter(((x[0].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8),
                                               9, 60, 9)).permute(2, 0, 1)[None].float() / 127.5 - 1
    sigma = 0.015 * 128
    yy, xx = np.mgrid[:128, :128]
    p = points[0].numpy().astype(np.float64)
    gauss = np.exp(-((xx[None] - p[:, 0, None, None]) ** 2 + (yy[None] - p[:, 1, None, None]) ** 2) / (2 * sigma**2))
    H = np.max([gauss[list(idx)].max(0) for idx in PARTS.values()], 0)
    S = [numpy_guided_filter(t[0].permute(1, 2, 0).double().numpy(), 5, 0.2) for t in (out, x)]
    want = (H * np.abs(numpy_edges(S[0]) - numpy_edges(S[1]))).sum() / H.sum()
    got = landmark_term(out, x, points, 0.015, surface_view=True).item()
    assert got == pytest.approx(want, rel=1e-4)
    assert got != pytest.approx(landmark_term(out, x, points, 0.015).item(), rel=0.05)  # not the edges view


def test_the_surface_view_ignores_skin_texture_more_than_the_edges_view(face):
    x, points = face
    from losses.landmark import landmark_term

    textured = (x + 0.08 * torch.randn(1, 1, 128, 128, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    edges = landmark_term(textured, x, points, 0.015).item()
    surface = landmark_term(textured, x, points, 0.015, surface_view=True).item()
    assert surface < 0.4 * edges  # fine texture on the skin: the shapes are the same (measured: 0.28×)


@pytest.mark.parametrize("view", ["edges", "surface"])
def test_the_threshold_variant_equals_an_independent_computation(face, view):
    """L_τ = Σ H·|max(∇A − τ, 0) − max(∇B − τ, 0)| / Σ H (A, B the images or their surface views), with numpy."""
    from losses.landmark import landmark_term

    x, points = face
    out = torch.from_numpy(cv2.bilateralFilter(((x[0].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8),
                                               9, 60, 9)).permute(2, 0, 1)[None].float() / 127.5 - 1
    sigma, tau = 0.015 * 128, 0.03
    yy, xx = np.mgrid[:128, :128]
    p = points[0].numpy().astype(np.float64)
    gauss = np.exp(-((xx[None] - p[:, 0, None, None]) ** 2 + (yy[None] - p[:, 1, None, None]) ** 2) / (2 * sigma**2))
    H = np.max([gauss[list(idx)].max(0) for idx in PARTS.values()], 0)
    images = [t[0].permute(1, 2, 0).double().numpy() for t in (out, x)]
    if view == "surface":
        images = [numpy_guided_filter(i, 5, 0.2) for i in images]
    strong = [np.maximum(numpy_edges(i) - tau, 0) for i in images]
    want = (H * np.abs(strong[0] - strong[1])).sum() / H.sum()
    got = landmark_term(out, x, points, 0.015, surface_view=view == "surface", threshold=tau).item()
    assert got == pytest.approx(want, rel=1e-4)
    # max(· − τ, 0) is 1-Lipschitz, so L_τ ≤ L; strictly less here: the threshold changed something
    assert got < 0.999 * landmark_term(out, x, points, 0.015, surface_view=view == "surface").item()


def test_shading_below_the_threshold_asks_for_nothing_a_contour_still_does():
    """A flat output against a photo with a soft ramp (Sobel magnitude 0.02 < τ = 0.03): no loss with τ, some
    without; against a photo with a step edge: a loss either way."""
    from losses.landmark import landmark_loss

    maps = torch.ones(1, 5, 32, 32)
    flat = torch.zeros(1, 3, 32, 32)
    ramp = torch.linspace(0, 0.02 * 31, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32)  # 0.02 per pixel
    step = torch.where(torch.arange(32) < 16, -0.5, 0.5).view(1, 1, 1, 32).expand(1, 3, 32, 32)
    assert landmark_loss(flat, ramp, maps, 0.03).item() == 0
    want = (30 * 0.02 + 2 * 0.01) / 32  # the two edge columns (replicated borders) see half the slope
    assert landmark_loss(flat, ramp, maps).item() == pytest.approx(want, rel=1e-4)
    assert landmark_loss(flat, step, maps, 0.03).item() > 0.01


def test_each_image_is_weighed_by_its_own_maps_and_a_light_map_is_not_diluted():
    """Σ H·d / Σ H per batch: image 0's map covers only its left half, image 1's only its right half; and a map
    summing to less than 1 still gives the weighted mean (the clamp only guards a zero sum)."""
    photo = torch.zeros(2, 3, 8, 8)
    output = photo.clone()
    output[0, :, :, 1] = 1.0  # an edge on image 0's left half only
    maps = torch.zeros(2, 5, 8, 8)
    maps[0, 0, :, :4] = 1.0
    maps[1, 0, :, 4:] = 1.0
    d = edge_magnitude(output) - edge_magnitude(photo)
    want = (d[0, 0, :, :4].sum() + d[1, 0, :, 4:].sum()) / 64
    assert landmark_loss(output, photo, maps).item() == pytest.approx(want.item(), rel=1e-6)
    light = torch.zeros(1, 5, 8, 8)
    light[0, 2, 3, 1] = 0.5  # one pixel at half weight: Σ H = 0.5
    assert landmark_loss(output[:1], photo[:1], light).item() == pytest.approx(d[0, 0, 3, 1].item(), rel=1e-6)


def test_the_term_follows_the_images_device_and_sums_in_float32():
    """On the meta device (no data) every tensor the term makes must follow its inputs' device: the landmarks
    come from the CPU and the images' device decides. bf16 images give a float32 loss (the sum is not bf16)."""
    from losses.landmark import landmark_term

    points = torch.rand(2, 68, 2) * 16
    assert heatmaps(points.to("meta"), 16, 2.0).device.type == "meta"
    assert edge_magnitude(torch.rand(2, 3, 16, 16, device="meta")).device.type == "meta"
    meta = torch.rand(2, 3, 16, 16, device="meta")
    assert landmark_term(meta, meta, points, 0.1).device.type == "meta"
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = x.flip(3)
    full = landmark_term(y, x, points, 0.1)
    half = landmark_term(y.bfloat16(), x.bfloat16(), points, 0.1)
    assert half.dtype == torch.float32 and half.item() == pytest.approx(full.item(), rel=2e-2)
