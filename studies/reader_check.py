"""The landmark reader as a second opinion beside dlib (the judge), for the face study's points view.

On held-out photos, with dlib's 68 points of each photo's best face and the reader's face box made from them
(``losses.landmark_points``), all distances in pixels over dlib's outer-eye distance on the photo:

- the floor: the reader's points on the photo against dlib's on the photo (how far the reader is from the judge
  before any cartoon is drawn; mean and median);
- reader NME of a model: the reader on the cartoon against the reader on the photo (what the points term trains),
  to set beside dlib's NME (what judges it).
"""
import numpy as np
import torch

from losses.landmark_points import face_boxes, read_points
from models.released.landmark_reader import load_landmark_reader
from utils.faces.landmarks import FaceLandmarks
from utils.image_io import to_tensor


class ReaderCheck:
    def __init__(self, photos: list[np.ndarray]):
        finder, self.reader = FaceLandmarks(), load_landmark_reader()
        self.faces = {}  # photo index -> (dlib points (68, 2), face box (1, 3), outer-eye distance, reader's points)
        for i, photo in enumerate(photos):
            found = finder.accepted_faces(photo)
            if not found:
                continue
            dlib_points = torch.tensor(finder.points(photo, found[0][1]), dtype=torch.float32)[None]
            boxes, usable = face_boxes(dlib_points, min(photo.shape[:2]))
            if usable.all():
                eyes = float((dlib_points[0, 36] - dlib_points[0, 45]).norm())
                self.faces[i] = (dlib_points[0], boxes, eyes, self.read(photo, boxes))

    @torch.no_grad()
    def read(self, image: np.ndarray, boxes: torch.Tensor) -> torch.Tensor:
        """The reader's 68 points on ``image`` in the face box, in the image's pixels."""
        fractions = read_points(self.reader, to_tensor(image)[None], boxes)[0]
        return boxes[0, :2] + (fractions - 0.5) * boxes[0, 2]

    def floor(self) -> dict:
        """The reader against dlib on the photos themselves: mean and median over faces, and how many."""
        errors = [float((read - points).norm(dim=-1).mean()) / eyes for points, _, eyes, read in self.faces.values()]
        return {"mean": float(np.mean(errors)), "median": float(np.median(errors)), "faces": len(errors)}

    def nme(self, cartoons: list[np.ndarray]) -> float:
        """The reader on each cartoon against the reader on its photo, mean over the faces (cartoons at the
        photos' size, as the study makes them)."""
        errors = [float((self.read(cartoons[i], boxes) - read).norm(dim=-1).mean()) / eyes
                  for i, (_, boxes, eyes, read) in self.faces.items()]
        return float(np.mean(errors)) if errors else float("nan")
