"""The points view of the landmark term: face boxes and crops against numpy and OpenCV, the loss against numpy,
and its gradient on a real face (the astronaut, warped) moving the reader's points toward the photo's."""
import cv2
import numpy as np
import pytest
import torch

from losses.landmark_points import (
    MIN_FACE,
    SCALE,
    SIZE,
    crop_faces,
    face_boxes,
    points_loss,
    points_term,
    read_points,
    reader_input,
)
from models.released.landmark_reader import load_landmark_reader


def square_of_points(x0, y0, side) -> torch.Tensor:
    t = torch.linspace(0, 1, 68)
    return torch.stack([x0 + side * t, y0 + side * t.flip(0) ** 2], -1)


def test_face_boxes_are_1_5_times_the_points_extent_and_refuse_what_the_reader_cannot_see():
    points = torch.stack([square_of_points(10, 20, 40), square_of_points(0, 0, 40) - 3,  # cut off at the edge
                          square_of_points(5, 5, MIN_FACE - 1), torch.full((68, 2), float("nan"))])
    boxes, usable = face_boxes(points, 64)
    assert boxes[0].tolist() == pytest.approx([30, 40, SCALE * 40])
    assert usable.tolist() == [True, False, False, False]


def test_crop_faces_matches_opencv_remap_of_the_same_box():
    """Output pixel j samples the image at c − s/2 + (j + ½)·s/160 (pixel centres at integers), bilinear, borders
    replicated: what cv2.remap computes from those coordinates."""
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (48, 64, 3)).astype(np.float32)
    box = (30.0, 20.0, 50.0)  # reaches past the top edge
    coords = box[0] - box[2] / 2 + (np.arange(SIZE) + 0.5) * box[2] / SIZE
    rows = box[1] - box[2] / 2 + (np.arange(SIZE) + 0.5) * box[2] / SIZE
    map_x, map_y = np.meshgrid(coords, rows)
    want = cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    got = crop_faces(torch.from_numpy(image).permute(2, 0, 1)[None], torch.tensor([box]))[0].permute(1, 2, 0)
    assert np.abs(got.numpy() - want).max() < 2e-3  # OpenCV's bilinear weights are fixed-point (1/32)


def test_reader_input_is_bgr_minus_127_over_127():
    rgb = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    pixels = np.array([0.0, 127.5, 255.0])
    assert reader_input(rgb).flatten().tolist() == pytest.approx(((pixels[::-1] - 127) / 127).tolist())


def test_points_loss_matches_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 1, (3, 68, 2)), rng.uniform(0, 1, (3, 68, 2))
    want = np.linalg.norm(a - b, axis=-1).mean(-1) / np.linalg.norm(b[:, 36] - b[:, 45], axis=-1)
    got = points_loss(torch.from_numpy(a), torch.from_numpy(b))
    assert got.numpy() == pytest.approx(want, rel=1e-9)


@pytest.fixture(scope="module")
def astronaut_face():
    """The astronaut's face, 256², and dlib's 68 points on it."""
    import skimage.data

    from utils.faces.landmarks import FaceLandmarks

    photo = cv2.resize(skimage.data.astronaut()[0:320, 70:390], (256, 256), interpolation=cv2.INTER_AREA)
    finder = FaceLandmarks()
    points = finder.points(photo, finder.accepted_faces(photo)[0][1])
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    return x, torch.tensor(points, dtype=torch.float32)[None]


def warped(x: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """The face stretched 12 % sideways and 6 % down about ``centre`` (wider eyes and mouth, a longer jaw)."""
    theta = torch.tensor([[[1 / 1.12, 0, 0], [0, 1 / 1.06, 0]]])
    c = (2 * centre + 1) / x.shape[-1] - 1
    theta[0, :, 2] = c - theta[0, :, :2] @ c
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)


def test_its_gradient_moves_the_points_read_on_a_warped_face_toward_the_photos(astronaut_face):
    photo, points = astronaut_face
    reader = load_landmark_reader()
    boxes, usable = face_boxes(points, 256)
    image = warped(photo, boxes[0, :2]).requires_grad_(True)
    with torch.no_grad():
        target = read_points(reader, photo, boxes)
        before = points_loss(read_points(reader, image, boxes), target).item()
    opt = torch.optim.Adam([image], lr=0.01)
    for _ in range(15):
        loss, read = points_term(reader, image, photo, points)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = points_loss(read_points(reader, image, boxes), target).item()
    assert usable.all() and read == 1
    assert before > 0.03 and after < 0.6 * before


def test_no_face_gives_a_zero_that_keeps_the_graph_and_reads_none():
    output = torch.zeros(2, 3, 64, 64, requires_grad=True)
    loss, read = points_term(load_landmark_reader(), output, output.detach(), torch.full((2, 68, 2), float("nan")))
    loss.backward()
    assert loss.item() == 0 and read == 0 and output.grad is not None


def test_only_the_readable_faces_count_and_the_surface_view_reads_the_blur(astronaut_face):
    photo, points = astronaut_face
    reader = load_landmark_reader()
    noisy = (photo + 0.3 * torch.randn_like(photo)).clamp(-1, 1)
    both = torch.cat([points, torch.full_like(points, float("nan"))])
    alone, read_alone = points_term(reader, noisy, photo, points)
    pair, read_pair = points_term(reader, torch.cat([noisy, noisy]), torch.cat([photo, photo]), both)
    blurred, _ = points_term(reader, noisy, photo, points, surface_view=True)
    assert read_alone == read_pair == 1 and pair.item() == pytest.approx(alone.item(), rel=1e-5)
    assert alone.item() > 0 and blurred.item() != pytest.approx(alone.item(), rel=1e-2)
