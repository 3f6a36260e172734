"""dlib's model files, found without importing dlib (or face-recognition-models, whose __init__ needs
pkg_resources): the 68-point predictor, the face-recognition network and the CNN face detector ship in the
``face-recognition-models`` package; a path given by the user (``--predictor PATH``) overrides."""
import importlib.util
from pathlib import Path

from utils.errors import UserError

PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
FACE_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


def model_file(name: str, override: str | None = None) -> Path:
    """Path of a dlib model file: ``override`` if given, else the copy in face-recognition-models."""
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"{name}: the face-recognition-models package is not installed; install it "
                            f"(pip install face-recognition-models) or pass --predictor PATH")
        path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise UserError(f"{path}: dlib model file not found (pass --predictor PATH to {name})")
    return path
