"""FID and KID on Inception-v3 pool features, computed in the project (no extra package).

FID (Heusel et al., 2017):  |μa − μb|² + Tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½).
KID (Bińkowski et al., 2018): unbiased MMD² with the cubic kernel k(x, y) = (x·y / d + 1)³, averaged over
random subsets. Features come from torchvision's Inception-v3 (IMAGENET1K_V1), so the figures compare runs of
this project with each other, not with numbers from the TF reference implementation. Offline, KID-effnet is the
same KID on EfficientNet-Lite0's pooled features (``models.efficientnet.EfficientLitePooled``, 224²): comparable
between this project's models only, never with a published FID or KID.
"""
import cv2
import numpy as np
import torch
import torchvision
from torch import nn

from utils.downloads import load_weights
from utils.errors import UserError
from utils.image_io import MAX_PIXELS, list_images, read_images, to_batch

WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"


def load_inception_state(path: str | None) -> dict:
    """From ``path``, else torchvision's cache, else a download; offline without either: a UserError."""
    return load_weights(path, WEIGHTS_FILE, torchvision.models.Inception_V3_Weights.IMAGENET1K_V1, "Inception-v3",
                        "--inception_weights")


class InceptionFeatures(nn.Module):
    """(B, 3, 299, 299) RGB in [-1, 1] -> (B, 2048) pool features (``features`` resizes images to 299²).
    The Google-trained weights take [-1, 1] input directly (torchvision's transform_input maps ImageNet
    normalisation back to exactly that)."""

    def __init__(self, state_dict: dict | None = None):
        super().__init__()
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False,
                                              transform_input=False)
        if state_dict is not None:
            try:
                net.load_state_dict(state_dict)
            except RuntimeError as e:
                raise UserError(f"weights do not fit Inception-v3 ({str(e).splitlines()[0][:120]})") from None
        net.fc = nn.Identity()
        self.net = net.eval().requires_grad_(False)

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a (n, d) and b (m, d), in float64.

    Tr((Σa Σb)^½) = Σ √λ of Σa^½ Σb Σa^½ (symmetric PSD, so an eigendecomposition suffices).
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = (vecs * vals.clamp_min(0).sqrt()) @ vecs.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) over subsets of the unbiased MMD² with k(x, y) = (x·y/d + 1)³."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = min(len(a), len(b), subset_size)
    if n < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def features(model: nn.Module, images: list[np.ndarray], device, batch_size: int = 32, size: int = 299
             ) -> np.ndarray:
    """Pool features of RGB uint8 images of any size (each resized to size² first: 299 for Inception-v3, 224 for
    EfficientNet-Lite0)."""
    out = []
    for k in range(0, len(images), batch_size):
        chunk = [cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA if im.shape[0] > size else cv2.INTER_LINEAR)
                 for im in images[k:k + batch_size]]
        x = to_batch(chunk)
        out.append(model(x.to(device)).cpu().numpy())
    return np.concatenate(out)


class KidEffnet:
    """KID-effnet of sets of cartoons against one cartoon set: EfficientNet-Lite0's pooled features of the set's
    first ``limit`` readable images, computed once (a UserError when the study packages are not installed)."""

    def __init__(self, cartoon_dir, limit: int, device="cpu", max_pixels: int = MAX_PIXELS):
        from models.efficientnet import efficientnet_lite0_pooled

        self.net, self.device = efficientnet_lite0_pooled().to(device), device
        images, _ = read_images(list_images(cartoon_dir), limit, max_pixels)
        self.reference = features(self.net, images, device, size=224) if len(images) >= 2 else None

    def __call__(self, cartoons: list[np.ndarray], subsets: int = 100) -> float | None:
        """The KID of ``cartoons`` (RGB uint8) against the set, or None when either has fewer than two images."""
        if self.reference is None or len(cartoons) < 2:
            return None
        mine = features(self.net, cartoons, self.device, size=224)
        return kid(mine, self.reference, subsets=subsets, subset_size=len(mine))[0]
