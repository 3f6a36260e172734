"""ImageNet weights for torchvision models: a local file, torchvision's cache, or a download (which needs
internet). Offline with neither file: a one-line UserError saying where to put it."""
import socket
from pathlib import Path

import torch

from utils.errors import UserError


def torchvision_cache(file_name: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def load_weights(path: str | None, file_name: str, weights, what: str, flag: str) -> dict:
    """State dict from ``path``, else torchvision's cached ``file_name``, else ``weights.get_state_dict()``."""
    if path:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise UserError(f"{path}: {what} weights file not found") from None
        except Exception as e:
            raise UserError(f"{path}: not a readable {what} state dict ({str(e).splitlines()[0][:150]})") from None
        if not isinstance(state, dict) or not any(str(k).endswith("weight") for k in state):
            raise UserError(f"{path}: not a {what} state dict")
        return state
    cache = torchvision_cache(file_name)
    if cache.is_file():
        return torch.load(cache, map_location="cpu", weights_only=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        return weights.get_state_dict(progress=True)
    except Exception as e:
        raise UserError(f"{what} ImageNet weights are not available offline ({type(e).__name__}); download "
                        f"{file_name} into {cache.parent} or pass {flag} PATH") from None
    finally:
        socket.setdefaulttimeout(previous)
