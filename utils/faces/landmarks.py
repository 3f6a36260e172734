"""dlib face detection and 68-point landmarks. Build ``FaceLandmarks`` once in main and pass it in (the predictor
file: ``utils.faces.dlib_models``)."""
import dlib
import numpy as np

from utils.errors import UserError
from utils.faces.detect import SURE, SecondOpinion
from utils.faces.dlib_models import PREDICTOR_68, model_file


class FaceLandmarks:
    """dlib's HOG frontal face detector and 68-point shape predictor."""

    def __init__(self, predictor: str | None = None, upsample: int = 1, cnn_path: str | None = None):
        path = model_file(PREDICTOR_68, predictor)
        try:
            self.predictor = dlib.shape_predictor(str(path))
        except RuntimeError as e:
            raise UserError(f"{path}: not a dlib shape predictor ({str(e).splitlines()[0][:120]})") from None
        self.detector = dlib.get_frontal_face_detector()
        self.upsample, self.cnn_path, self._second = upsample, cnn_path, None

    def faces(self, rgb: np.ndarray) -> list[tuple[float, "dlib.rectangle"]]:
        """All detections as (score, box), best first. The detector also fires on non-faces (on astronaut,
        a weaker box on her suit): rank by score, then size."""
        boxes, scores, _ = self.detector.run(np.ascontiguousarray(rgb), self.upsample, 0)
        return sorted(zip(scores, boxes), key=lambda sb: (sb[0], sb[1].area()), reverse=True)

    def accepted_faces(self, rgb: np.ndarray) -> list[tuple[float, "dlib.rectangle"]]:
        """The detections that are faces, best first: those scoring at least ``detect.SURE``, and the weaker ones
        that dlib's CNN detector confirms (``utils.faces.detect``; loaded on the first uncertain box)."""
        accepted = []
        for score, box in self.faces(rgb):
            if score < SURE:
                if self._second is None:
                    self._second = SecondOpinion(self.cnn_path)
                if not self._second(rgb, box):
                    continue
            accepted.append((score, box))
        return accepted

    def shape(self, rgb: np.ndarray, box: "dlib.rectangle") -> "dlib.full_object_detection":
        return self.predictor(np.ascontiguousarray(rgb), box)

    def points(self, rgb: np.ndarray, box: "dlib.rectangle") -> np.ndarray:
        """(68, 2) float32 (x, y) coordinates inside ``box``."""
        return shape_points(self.shape(rgb, box))

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks of the best face, or None when no face is found."""
        found = self.faces(rgb)
        return self.points(rgb, found[0][1]) if found else None


def shape_points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)
