"""train.py --eval_dir DIR --eval_every N: the current G on a fixed set of held-out photos, measured while the run
goes on, with test.py --eval's code (``inference.evaluate.measures``): the face metrics (landmark NME, face
found, identity distance; when dlib's model files are there) and the stylisation measures (flat share, distance
moved from the photo, high-frequency ratio, line share) and, given the cartoon set, KID-effnet: the KID between
the held-out cartoons and up to ``REFERENCE`` images of the cartoon set on EfficientNet-Lite0 features (when
requirements-study.txt is installed; comparable between this project's runs only)."""
import cv2
import numpy as np

from inference.cartoonise import Cartooniser
from inference.evaluate import measures
from inference.fid import KidEffnet
from utils.errors import UserError
from utils.image_io import MAX_PIXELS, list_images, read_images


class HeldOut:
    def __init__(self, folder, num: int = 32, predictor: str | None = None, max_side: int = 256, write=print,
                 max_pixels: int = MAX_PIXELS, cartoon_dir=None, device="cpu"):
        self.photos, unreadable = read_images(list_images(folder), num, max_pixels)
        skipped = len(unreadable)
        if not self.photos:
            raise UserError(f"{folder}: no readable held-out photos for --eval_dir ({skipped} unreadable)")
        try:
            from utils.faces.metrics import FaceMetrics
            self.face_metrics = FaceMetrics(predictor)
        except (UserError, ImportError) as e:
            write(f"warning: --eval_dir: no face metrics ({e}); the stylisation measures alone")
            self.face_metrics = None
        self.max_side, self.kid = max_side, None
        if cartoon_dir is not None:
            try:
                self.kid = KidEffnet(cartoon_dir, REFERENCE, device, max_pixels)
            except UserError as e:
                write(f"note: --eval_dir: no KID-effnet ({e})")
        write(f"held-out evaluation: {len(self.photos)} photos of {folder}" + (f" ({skipped} unreadable skipped)"
                                                                                if skipped else ""))

    def __call__(self, G, device, precision) -> tuple[dict, np.ndarray]:
        """(flat measures, a sheet of the first 4: photo | cartoon rows) of G now; G is back in train mode after."""
        G.eval()
        try:
            cartoons = Cartooniser(G, device, self.max_side, precision, batch_size=8)(self.photos)
        finally:
            G.train()
        face, style = measures(self.photos, cartoons, self.face_metrics)
        keys = ("landmark_nme", "cartoon_face_detected", "identity_distance", "faces")
        flat = {**{k: face[k] for k in keys if k in face}, **style}
        kid = self.kid(cartoons, subsets=50) if self.kid is not None else None  # None: one photo is not a set
        if kid is not None:
            flat["kid_effnet"] = kid
        thumb = lambda image: cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)  # noqa: E731
        sheet = np.concatenate([np.concatenate([thumb(p), thumb(c)], 1)
                                for p, c in zip(self.photos[:4], cartoons[:4])], 0)
        return flat, sheet


REFERENCE = 500  # cartoon-set images KID-effnet compares with
