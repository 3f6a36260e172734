"""Landmark term, points view (``--landmark_view points``): positions, not pixels.

A frozen landmark reader R (``models/landmark_reader.py``, 68 points from a 160² face crop) reads the points off the
photo and off G's output, in the same crop of each: the photo's face box, a square of 1.5× the extent of its 68
dlib points about their centre (how the reader's author enlarges a detector's box), resized to 160², borders
replicated where the box leaves the image. The term is the distance between the two readings, over the outer-eye
distance of the photo's reading (as the landmark NME normalises):

    L = mean over faces i of  (1/68) Σ_k ‖R_k(crop_i(G(x))) − R_k(crop_i(x))‖ / ‖R_36(crop_i(x)) − R_45(crop_i(x))‖

The reader is compared with itself, never with dlib: its own bias on a face (it disagrees with dlib's points on
photos) is in both readings and cancels, so only a change of the face's geometry between photo and cartoon costs.
The photo's reading is a fixed target; the gradient reaches G through the reading of its output. A face the reader
cannot see is dropped from the term and counted: no face found, a face cut off by the image's edge (a point
outside it), or a face smaller than ``MIN_FACE`` pixels.

With ``surface=True`` (``--landmark_view surface_points``) the reader reads both images' surface representation
(``losses.surface``: the guided-filter blur), the shapes without the skin texture.
"""
import torch
import torch.nn.functional as F

from losses.surface import surface

SCALE = 1.5  # the crop's side over the extent of the 68 points
MIN_FACE = 32  # pixels: the smallest extent of the 68 points the term reads
SIZE = 160  # the reader's input side
OUTER_EYES = (36, 45)


def face_boxes(points: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 68, 2) pixel (x, y) points (NaN: no face) in images of side ``size`` -> (boxes (B, 3): centre x, centre
    y, side in pixels; usable (B,) bool: a face, whole inside the image, at least MIN_FACE wide or high)."""
    finite = torch.isfinite(points).all(-1).all(-1)
    p = torch.where(finite[:, None, None], points, torch.zeros_like(points))
    lo, hi = p.amin(1), p.amax(1)
    extent = (hi - lo).amax(-1)
    inside = (lo >= 0).all(-1) & (hi <= size - 1).all(-1)
    boxes = torch.cat([(lo + hi) / 2, SCALE * extent[:, None]], 1)
    return boxes, finite & inside & (extent >= MIN_FACE)


def crop_faces(images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) and (B, 3) boxes (centre x, centre y, side, pixels) -> (B, 3, 160, 160), bilinear and
    differentiable in the images; outside the image the border pixels repeat."""
    n, _, h, w = images.shape
    theta = torch.zeros(n, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0], theta[:, 1, 1] = boxes[:, 2] / w, boxes[:, 2] / h
    # pixel centre c (pixel i spans [i − ½, i + ½]) -> grid coordinate (2c + 1)/W − 1 (align_corners=False)
    theta[:, 0, 2], theta[:, 1, 2] = (2 * boxes[:, 0] + 1) / w - 1, (2 * boxes[:, 1] + 1) / h - 1
    grid = F.affine_grid(theta, [n, 3, SIZE, SIZE], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def reader_input(crops: torch.Tensor) -> torch.Tensor:
    """RGB in [-1, 1] -> the reader's input: BGR, (pixel − 127) / 127 with pixel = (x + 1) · 127.5."""
    return ((crops.flip(1) + 1) * 127.5 - 127) / 127


def read_points(reader, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B, 68, 2) points as fractions of each face's crop, read in float32 (a bf16 reading would be off by about
    half a pixel of the crop)."""
    with torch.autocast(images.device.type, enabled=False):
        return reader.points(reader_input(crop_faces(images.float(), boxes.float())))


def points_loss(cartoon_points: torch.Tensor, photo_points: torch.Tensor) -> torch.Tensor:
    """(B,) mean over the 68 points of the distance between the readings, over the photo reading's outer-eye
    distance (the photo's reading carries no gradient)."""
    target = photo_points.detach()
    eyes = (target[:, OUTER_EYES[0]] - target[:, OUTER_EYES[1]]).norm(dim=-1).clamp_min(1e-3)
    return (cartoon_points - target).norm(dim=-1).mean(-1) / eyes


def points_term(reader, output: torch.Tensor, photo: torch.Tensor, points: torch.Tensor, surface_view: bool = False
                ) -> tuple[torch.Tensor, int]:
    """(the term, the number of faces it read) for a batch: output, photo (B, 3, H, W) in [-1, 1], square;
    points: the photos' (B, 68, 2) dlib landmarks in pixels (NaN: no face). With no usable face the term is a
    zero that still depends on ``output`` (the step's graph stays whole)."""
    boxes, usable = face_boxes(points.to(photo.device).float(), photo.shape[-1])
    if not usable.any():
        return (output.float() * 0).sum(), 0
    out, ph, boxes = output[usable], photo[usable], boxes[usable]
    if surface_view:
        out, ph = surface(out.float()), surface(ph.float())
    with torch.no_grad():
        target = read_points(reader, ph, boxes)
    return points_loss(read_points(reader, out, boxes), target).mean(), int(usable.sum())


class PointsView:
    """The landmark term as train_step calls it, for ``--landmark_view points`` (``surface_points``:
    surface_view=True): it owns its frozen reader; ``term(output, photo, points, maps) -> (loss, faces read)``.
    It reads positions, so it needs no heatmaps (``uses_heatmaps`` False; ``maps`` is ignored)."""
    uses_heatmaps = False

    def __init__(self, reader, surface_view: bool = False):
        self.reader, self.surface_view = reader, surface_view

    def __call__(self, output, photo, points, maps=None) -> tuple[torch.Tensor, int]:
        return points_term(self.reader, output, photo, points, self.surface_view)
