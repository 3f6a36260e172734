"""Shared fixtures: tiny image folders generated on the fly (no downloads, no ../shared)."""
import struct
from pathlib import Path

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


# ---- a White-box TF checkpoint written without TensorFlow (tests of the reader, converter and downloads) ------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, value) -> bytes:
    """A protobuf field: varint (wire type 0) for ints, length-delimited (2) for bytes."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB table block, no prefix compression, one restart point; + the 5-byte trailer (type 0, crc)."""
    body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in entries)
    return body + struct.pack("<II", 0, 1) + b"\0" + b"\0\0\0\0"


def write_tf_bundle(prefix, tensors: dict) -> None:
    """Write ``tensors`` (name -> float32 array) as PREFIX.index + PREFIX.data-00000-of-00001, the layout
    tf.train.Saver (V2) writes: a sorted table of BundleEntryProto (dtype, shape, shard, offset, size)."""
    data, entries = bytearray(), [(b"", _field(1, 1))]  # BundleHeaderProto: num_shards = 1
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], np.float32).tobytes()
        shape = b"".join(_field(2, _field(1, d)) for d in tensors[name].shape)
        entry = _field(1, 1) + _field(2, shape) + _field(3, 0) + _field(4, len(data)) + _field(5, len(raw))
        entries.append((name.encode(), entry))
        data += raw
    data_block = _block(entries)
    index_block = _block([(entries[-1][0], _varint(0) + _varint(len(data_block) - 5))])
    meta_block = _block([])
    meta_offset = len(data_block) + len(index_block)
    footer = (_varint(meta_offset) + _varint(len(meta_block) - 5) + _varint(len(data_block))
              + _varint(len(index_block) - 5))
    footer = footer.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(f"{prefix}.index").write_bytes(data_block + index_block + meta_block + footer)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))


def whitebox_variables(seed: int = 0) -> dict:
    """Random 'generator/...' variables with White-box's names and TF (HWIO) shapes."""
    from models.generator import Generator
    from utils.whitebox.convert import TF_TO_TORCH

    rng, modules = np.random.default_rng(seed), dict(Generator().named_modules())
    out = {}
    for tf_name, ours in TF_TO_TORCH.items():
        o, i, kh, kw = modules[ours].weight.shape
        out[f"generator/{tf_name}/weights"] = rng.normal(0, 0.05, (kh, kw, i, o)).astype(np.float32)
        out[f"generator/{tf_name}/biases"] = rng.normal(0, 0.05, o).astype(np.float32)
    return out


@pytest.fixture(scope="session")
def whitebox_folder(tmp_path_factory):
    """A folder holding model-33999.index/.data like White-box's saved_models (random weights)."""
    folder = tmp_path_factory.mktemp("saved_models")
    write_tf_bundle(folder / "model-33999", whitebox_variables())
    (folder / "checkpoint").write_text('model_checkpoint_path: "model-33999"\n')
    return folder
