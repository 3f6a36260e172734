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


def _block(entries: list[tuple[bytes, bytes]], restart_every: int = 2, compression: int = 0) -> bytes:
    """A LevelDB table block as TensorFlow writes it: each key shares its prefix with the previous one, a restart
    point (a key written whole) every ``restart_every`` keys, then the restart offsets, their count and the 5-byte
    trailer (compression type, crc)."""
    body, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        else:
            restarts.append(len(body))
        body += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    return bytes(body) + struct.pack(f"<{len(restarts)}II", *restarts, len(restarts)) + bytes([compression]) + b"\0" * 4


def _entry(dtype: int, shape, shard: int, offset: int, size: int) -> bytes:
    """A BundleEntryProto written as proto3 does: fields at zero left out (a dim of size 0 is an empty Dim)."""
    dims = b"".join(_field(2, _field(1, d) if d else b"") for d in shape)
    return (_field(1, dtype) if dtype else b"") + (_field(2, dims) if shape else b"") + \
        b"".join(_field(n, v) for n, v in ((3, shard), (4, offset), (5, size)) if v)


def write_bundle(prefix, variables: dict, shards: int = 1) -> None:
    """The layout tf.train.Saver (V2) writes: PREFIX.index, a sorted table of BundleEntryProto (dtype, shape,
    shard, offset, size), and PREFIX.data-SSSSS-of-NNNNN. ``variables``: name -> (TF dtype number, array or raw
    bytes, shard)."""
    data = [bytearray() for _ in range(shards)]
    entries = [(b"", _field(1, shards))]  # the BundleHeaderProto: num_shards
    for name in sorted(variables):
        dtype, value, shard = variables[name]
        raw = value if isinstance(value, bytes) else np.ascontiguousarray(value).tobytes()
        shape = () if isinstance(value, bytes) else value.shape
        entries.append((name.encode(), _entry(dtype, shape, shard, len(data[shard]), len(raw))))
        data[shard] += raw
    block = _block(entries)
    index = _block([(entries[-1][0], _varint(0) + _varint(len(block) - 5))])
    meta = _block([])
    footer = _varint(len(block) + len(index)) + _varint(len(meta) - 5) + _varint(len(block)) + _varint(len(index) - 5)
    Path(f"{prefix}.index").write_bytes(
        block + index + meta + footer.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57))
    for i, raw in enumerate(data):
        Path(f"{prefix}.data-{i:05d}-of-{shards:05d}").write_bytes(bytes(raw))


def write_tf_bundle(prefix, tensors: dict) -> None:
    """``tensors`` (name -> array, written as float32, DT_FLOAT) in one shard, as White-box's checkpoint."""
    write_bundle(prefix, {name: (1, np.asarray(t, np.float32), 0) for name, t in tensors.items()})


def whitebox_variables(seed: int = 0) -> dict:
    """Random 'generator/...' variables with White-box's names and TF (HWIO) shapes."""
    from models.generator import Generator
    from models.released.convert import TF_TO_TORCH

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


# ---- an OpenVINO IR v10 of the face generator, written by hand (tests of the IR reader and the `facial` model) --

def fold_batchnorm(conv, bn) -> tuple[np.ndarray, np.ndarray]:
    """conv then eval-mode BatchNorm as one conv: w·γ/√(var+eps), (b − mean)·γ/√(var+eps) + β."""
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    w = conv.weight.detach() * scale[:, None, None, None]
    b = (conv.bias.detach() - bn.running_mean) * scale + bn.bias.detach()
    return w.numpy(), b.numpy()


class IRWriter:
    """Layers and edges of an IR v10 graph, constants appended to one .bin; a node is (layer id, shape)."""
    TYPES = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.int64): "i64"}

    def __init__(self, dtype=np.float16):
        self.dtype, self.layers, self.edges, self.blob = dtype, [], [], bytearray()

    def layer(self, kind: str, inputs: list, shape: tuple, data: dict | None = None) -> tuple:
        lid = len(self.layers)
        self.layers.append((lid, kind, data or {}, [s for _, s in inputs], shape))
        for port, (src, _) in enumerate(inputs):
            self.edges.append((src, lid, port))
        return lid, shape

    def parameter(self, shape: tuple, element_type: str = "f32") -> tuple:
        return self.layer("Parameter", [], shape, {"element_type": element_type, "shape": ",".join(map(str, shape))})

    def const(self, array: np.ndarray, dtype=None) -> tuple:
        array = np.ascontiguousarray(array, dtype or self.dtype)
        offset = len(self.blob)
        self.blob += array.tobytes()
        data = {"element_type": self.TYPES[array.dtype], "offset": offset, "shape": ",".join(map(str, array.shape)),
                "size": array.nbytes}
        return self.layer("Const", [], array.shape, data)

    def conv(self, x, w, b, stride=1, relu=True):
        n, _, h, wd = x[1]
        out = (n, w.shape[0], (h + stride - 1) // stride, (wd + stride - 1) // stride)
        y = self.layer("Convolution", [x, self.const(w)], out, {"strides": f"{stride},{stride}", "dilations": "1,1",
                                                                  "pads_begin": "1,1", "pads_end": "1,1"})
        y = self.layer("Add", [y, self.const(b.reshape(1, -1, 1, 1))], out)
        return self.layer("ReLU", [y], out) if relu else y

    def up(self, x):
        n, c, h, w = x[1]
        size = self.const(np.array([2 * h, 2 * w]), np.int64)
        return self.layer("Interpolate", [x, size], (n, c, 2 * h, 2 * w), {"axes": "2,3", "mode": "nearest"})

    def write(self, xml_path) -> Path:
        def dims(shape):
            return "".join(f"<dim>{d}</dim>" for d in shape)
        out = ['<?xml version="1.0" ?>', '<net name="test" version="10">', "<layers>"]
        for lid, kind, data, ins, shape in self.layers:
            attrs = " ".join(f'{k}="{v}"' for k, v in data.items())
            inputs = "".join(f'<port id="{k}">{dims(s)}</port>' for k, s in enumerate(ins))
            output = f'<output><port id="{len(ins)}">{dims(shape)}</port></output>' if kind != "Result" else ""
            out.append(f'<layer id="{lid}" name="l{lid}" type="{kind}" version="opset1">'
                       + (f"<data {attrs}/>" if data else "")  # as OpenVINO: ReLU, Tanh, Result have none
                       + (f"<input>{inputs}</input>" if ins else "") + output + "</layer>")
        out.append("</layers><edges>")
        ports = {lid: len(ins) for lid, _, _, ins, _ in self.layers}
        out += [f'<edge from-layer="{a}" from-port="{ports[a]}" to-layer="{b}" to-port="{p}"/>'
                for a, b, p in self.edges]
        out.append("</edges></net>")
        Path(xml_path).write_text("\n".join(out))
        Path(xml_path).with_suffix(".bin").write_bytes(bytes(self.blob))
        return Path(xml_path)


def face_model(channel: int = 4, num_blocks: int = 2, seed: int = 0):
    """A FaceGenerator with random weights and random (non-identity) BatchNorm statistics, in eval mode."""
    from models.face_generator import FaceGenerator

    torch.manual_seed(seed)
    G = FaceGenerator(channel, num_blocks)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return G.eval()


def write_face_ir(G, xml_path, size: int = 32, dtype=np.float16, shared: bool = True) -> Path:
    """G (a FaceGenerator) as the OpenVINO export lays it out: BatchNorm folded into each conv as weight + Add,
    the shared residual block written once per application; ``shared=False`` perturbs the second application."""
    ir = IRWriter(dtype)
    x = ir.parameter((1, 3, size, size), "f16")

    def down(block, x):
        s = block.conv_layer
        x = ir.conv(x, *fold_batchnorm(s[0], s[1]), stride=2)
        return ir.conv(x, *fold_batchnorm(s[3], s[4]))

    def up(block, x):
        s = block.conv_layer
        x = ir.up(ir.conv(x, *fold_batchnorm(s[0], s[1])))
        if block.is_last:
            y = ir.conv(x, s[4].weight.detach().numpy(), s[4].bias.detach().numpy(), relu=False)
            return ir.layer("Tanh", [y], y[1])
        return ir.conv(x, *fold_batchnorm(s[4], block.act[0]))

    d1 = down(G.down1, x)
    d2 = down(G.down2, d1)
    d3 = down(G.down3, d2)
    h = down(G.down4, d3)
    for k in range(G.num_blocks):
        block = G.res_blocks[k].conv_layer  # the same module each time
        w1, b1 = fold_batchnorm(block[0], block[1])
        w2, b2 = fold_batchnorm(block[3], block[4])
        if k == 1 and not shared:
            w1 = w1 + 0.01
        y = ir.conv(ir.conv(h, w1, b1), w2, b2, relu=False)
        h = ir.layer("ReLU", [ir.layer("Add", [y, h], h[1])], h[1])
    u = up(G.up1, h)
    u = up(G.up2, ir.layer("Add", [u, d3], d3[1]))
    u = up(G.up3, ir.layer("Add", [u, d2], d2[1]))
    u = up(G.up4, ir.layer("Add", [u, d1], d1[1]))
    ir.layer("Result", [u], u[1])
    return ir.write(xml_path)


@pytest.fixture(scope="session")
def face_ir(tmp_path_factory):
    """(the FaceGenerator, its IR .xml): channel 4, two applications of the shared block, fp32 constants."""
    G = face_model()
    return G, write_face_ir(G, tmp_path_factory.mktemp("ir") / "face.xml", dtype=np.float32)


@pytest.fixture(scope="session")
def face_checkpoint(face_ir, tmp_path_factory):
    """face_ir converted to this project's checkpoint (a released face model, as `--model facial` gives)."""
    from models.released.openvino_ir import convert_ir

    return convert_ir(face_ir[1], tmp_path_factory.mktemp("facial") / "facial.pth")
