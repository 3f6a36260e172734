"""test.py --align (and the demo's "faces" switch): the whole image cartoonised, then every face found,
cartoonised from its aligned crop at the model's face resolution, blended onto that cartoon.

The whole-image pass works at --size (720 px on the long side); a face gets its own pass on an eyes-level
crop taken from the full-resolution photo (FFHQ framing, ``--face_size`` pixels), pasted back through a mask
that fades over the crop's outer 15 %. The faces are dlib's sure detections and the uncertain ones its CNN
detector confirms (``utils.faces.detect``: no box on the astronaut's suit). Faces whose crop would cover fewer
than ``min_face`` photo pixels a side gain nothing from it and are left to the whole-image pass; the report
says how many.
"""
import numpy as np

from inference.cartoonise import Cartooniser, blend
from utils.faces.align import align_face, crop_side, paste_back
from utils.faces.landmarks import FaceLandmarks


class FaceCartooniser:
    def __init__(self, cartooniser: Cartooniser, landmarks: FaceLandmarks, size: int = 256, min_face: int = 96,
                 feather: float = 0.15, track=None):
        """``track``: a utils.faces.track.FaceTrack for the frames of a video (faces followed and smoothed)."""
        self.whole, self.landmarks, self.track = cartooniser, landmarks, track  # whole: the image Cartooniser
        self.size, self.min_face, self.feather = size, min_face, feather
        self.outcomes: list[tuple[int, int]] = []  # per image: (faces cartoonised from their crop, faces too small)

    @property
    def batch_size(self) -> int:
        return self.whole.batch_size

    @property
    def strength(self) -> float:  # the wrapped cartooniser's: one setting, not a copy that could drift
        return self.whole.strength

    @property
    def faces_per_image(self) -> list[int]:
        return [used for used, _ in self.outcomes]

    def aligned_faces(self, image: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
        """((aligned crop, its matrix) of every accepted face big enough to gain from it, faces too small)."""
        out, small = [], 0
        points = [self.landmarks.points(image, box) for _, box in self.landmarks.accepted_faces(image)]
        for p in self.track.update(points) if self.track is not None else points:
            crop, M = align_face(image, p, self.size)
            if crop_side(M, self.size) >= self.min_face:
                out.append((crop, M))
            else:
                small += 1
        return out, small

    def faces(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.aligned_faces(image)[0]

    def cartoons(self, images: list[np.ndarray]) -> list[np.ndarray]:
        results = self.whole.cartoons(images)
        found = [self.aligned_faces(image) for image in images]
        crops = [crop for faces, _ in found for crop, _ in faces]
        face_cartoons = iter(self.whole.cartoons(crops) if crops else [])
        for i, (faces, small) in enumerate(found):
            for _, M in faces:
                results[i] = paste_back(results[i], next(face_cartoons), M, self.feather)
            self.outcomes.append((len(faces), small))
        return results

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [blend(p, c, self.strength) for p, c in zip(images, self.cartoons(images))]

    def outcome(self, i: int = -1) -> str:
        """What happened to image ``i``'s faces, in a few words (the app shows it)."""
        used, small = self.outcomes[i]
        if not used and not small:
            return "no face found: the whole image was cartoonised"
        parts = [f"{used} face{'s' if used != 1 else ''} cartoonised from aligned crops"] if used else []
        if small:
            parts.append(f"{small} face{'s' if small != 1 else ''} found but too small for an aligned pass "
                         f"(under {self.min_face} px), left to the whole image")
        return "; ".join(parts)

    def report(self) -> str:
        if not self.outcomes:
            return ""
        n = len(self.outcomes)
        used = sum(u for u, _ in self.outcomes)
        small = sum(s for _, s in self.outcomes)
        none = sum(1 for u, s in self.outcomes if not u and not s)
        per = ", ".join(str(u) for u, _ in self.outcomes[:20]) + (" …" if n > 20 else "")
        return (f"--align: {used} face(s) cartoonised from aligned crops in {sum(1 for u, _ in self.outcomes if u)} "
                f"of {n} image(s) (faces per image: {per}); no face found in {none}; {small} face(s) too small "
                f"for an aligned pass (under {self.min_face} px) left to the whole-image pass")
