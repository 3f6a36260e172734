"""Shared fixtures: tiny image folders generated on the fly (no downloads, no ../shared)."""
import cv2
import numpy as np
import pytest
import torch


def smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random smooth RGB uint8 image with a few edges (a blurred blob field plus a rectangle)."""
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    image = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    x0, y0 = rng.integers(0, size // 2, 2)
    cv2.rectangle(image, (int(x0), int(y0)), (int(x0) + size // 3, int(y0) + size // 3),
                  tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    return image


def write_folder(path, n: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(path / f"{i:03d}.png"), smooth_image(rng, size))
    return path


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def photo_dir(tmp_path):
    return write_folder(tmp_path / "photo", 6, 48, seed=1)


@pytest.fixture
def cartoon_dir(tmp_path):
    return write_folder(tmp_path / "cartoon", 6, 48, seed=2)


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory):
    """A real gen checkpoint: pretrain 1 step, then a 2-step adversarial train, on tiny generated data."""
    import pretrain
    import train
    from models.vgg import VGGFeatures

    root = tmp_path_factory.mktemp("run")
    photos, cartoons = write_folder(root / "p", 4, 40, 5), write_folder(root / "c", 4, 40, 6)
    vgg = root / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}, vgg)
    common = ["--photo_dir", str(photos), "--batch_size", "2", "--image_size", "32", "--save_dir", str(root / "ck"),
              "--log_dir", str(root / "logs"), "--workers", "0", "--device", "cpu", "--channel", "8",
              "--num_blocks", "1"]
    pretrain.main([*common, "--total_iter", "1"])
    train.main([*common, "--total_iter", "2", "--cartoon_dir", str(cartoons), "--vgg_weights", str(vgg),
                "--model_version", "7", "--superpixel_workers", "0", "--w5", "0"])
    return root / "ck" / "gen7_batch_2.pth"


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory):
    """Random VGG19 conv weights in torchvision's key layout ('features.N.weight'), as --vgg_weights takes."""
    from models.vgg import VGGFeatures

    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}, path)
    return path
