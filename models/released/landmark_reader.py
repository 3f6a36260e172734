"""The landmark reader's shipped weights (Peppa's Slim, Apache-2.0, ``models/released/peppa/``), checked against the
published file's git blob id, loaded into ``models.landmark_reader.SlimReader``."""
from pathlib import Path

import torch

from models.landmark_reader import SlimReader
from models.released.pretrained import git_blob_id
from utils.errors import UserError

WEIGHTS = Path(__file__).resolve().parent / "peppa" / "slim_160_latest.pth"
BLOB_ID = "89d2f7a83c65e9dfa8e89fc0f0facf06ffd2dca2"  # git hash-object of the published file


def load_landmark_reader(path: str | Path | None = None, device="cpu") -> SlimReader:
    """The shipped reader (or the state dict at ``path``), frozen, in eval mode. The shipped file is checked
    against its blob id; a missing or altered file is one line saying so."""
    path = Path(path) if path is not None else WEIGHTS
    if not path.is_file():
        raise UserError(f"{path}: the landmark reader's weights are missing (restore them with git checkout, or "
                        f"fetch them from ainrichman/Peppa-Facial-Landmark-PyTorch: models/released/peppa/README.md)")
    if path == WEIGHTS and git_blob_id(path) != BLOB_ID:
        raise UserError(f"{path}: not the published file (git blob id {git_blob_id(path)}, expected {BLOB_ID})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        reader = SlimReader()
        reader.load_state_dict(state)
    except Exception as e:  # a damaged or foreign file: one line, whatever the reader raised
        raise UserError(f"{path}: not the Slim landmark reader's state dict ({str(e).splitlines()[0][:120]})"
                        ) from None
    reader.eval().to(device)
    for p in reader.parameters():
        p.requires_grad_(False)
    return reader
