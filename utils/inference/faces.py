"""test.py --align (and the demo's "faces" switch): the whole image cartoonised, then every face found,
cartoonised from its aligned crop at the model's face resolution, blended onto that cartoon.

The whole-image pass works at --size (720 px on the long side); a face gets its own pass on an eyes-level
crop taken from the full-resolution photo (FFHQ framing, ``--face_size`` pixels), pasted back through a mask
that fades over the crop's outer 15 %. Detections scoring under 0.5 are ignored (dlib fires at 0.12 on
the astronaut's suit). Faces whose crop would cover fewer than ``min_face`` photo pixels a side
gain nothing from it and are left to the whole-image pass.
"""
import numpy as np

from utils.faces.align import align_face, crop_side, paste_back
from utils.faces.landmarks import FaceLandmarks
from utils.inference.cartoonise import Cartooniser, blend


class FaceCartooniser:
    def __init__(self, cartooniser: Cartooniser, landmarks: FaceLandmarks, size: int = 256, min_score: float = 0.5,
                 min_face: int = 96, feather: float = 0.15):
        self.run, self.landmarks = cartooniser, landmarks
        self.size, self.min_score, self.min_face, self.feather = size, min_score, min_face, feather
        self.faces_per_image: list[int] = []

    @property
    def batch_size(self) -> int:
        return self.run.batch_size

    @property
    def strength(self) -> float:  # the wrapped cartooniser's: one setting, not a copy that could drift
        return self.run.strength

    def faces(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(aligned crop, its matrix) of every face with detector score ≥ min_score big enough to help."""
        out = []
        for score, box in self.landmarks.faces(image):
            if score < self.min_score:
                continue
            crop, M = align_face(image, self.landmarks.points(image, box), self.size)
            if crop_side(M, self.size) >= self.min_face:
                out.append((crop, M))
        return out

    def cartoons(self, images: list[np.ndarray]) -> list[np.ndarray]:
        results = self.run.cartoons(images)
        found = [self.faces(image) for image in images]
        crops = [crop for faces in found for crop, _ in faces]
        face_cartoons = iter(self.run.cartoons(crops) if crops else [])
        for i, faces in enumerate(found):
            for _, M in faces:
                results[i] = paste_back(results[i], next(face_cartoons), M, self.feather)
            self.faces_per_image.append(len(faces))
        return results

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [blend(p, c, self.strength) for p, c in zip(images, self.cartoons(images))]

    def report(self) -> str:
        counts = self.faces_per_image
        if not counts:
            return ""
        none = sum(1 for n in counts if n == 0)
        per = ", ".join(str(n) for n in counts[:20]) + (" …" if len(counts) > 20 else "")
        return (f"--align: {sum(counts)} face(s) blended into {len(counts) - none} of {len(counts)} image(s) "
                f"(faces per image: {per}); {none} image(s) without a usable face were cartoonised whole")
