"""Read an OpenVINO IR (version 10: an XML graph + a .bin of constants) without OpenVINO, and rebuild the White-box
author's face generator (``models.face_generator``) from it.

    python -m models.released.openvino_ir MODEL.xml OUT.pth     # MODEL.bin beside it

The XML lists layers (id, type, attributes, the shapes on their ports) and edges (from layer:port to layer:port);
each ``Const`` names its bytes in the .bin by offset and size. Only the layers the face model's export uses are
understood: Parameter, Const, Convolution, Add, ReLU, Interpolate (nearest), Tanh, Result. Anything else, a
constant outside the .bin or of the wrong size, an unused constant or a shape that does not fit is refused with
one line naming the file.

Rebuilding follows the edges: the convolutions in graph order, each with the Const on its weight port and the
Const added to its output (the export folded BatchNorm into that weight and bias, so BatchNorm becomes identity).
The residual block the author's class applies ``num_blocks`` times with one set of weights appears that many
times in the graph; every application must carry the first one's weights. Last, the rebuilt model must compute
what the graph computes: both run on a random input of the graph's own shape (``run_graph`` interprets the graph
op by op) and must agree within 1e-4.
"""
import argparse
import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from models.face_generator import FaceGenerator, identity_batchnorm
from utils.checkpoint import save_released
from utils.errors import UserError, cli

ELEMENT_TYPES = {"f16": np.float16, "f32": np.float32, "i64": np.int64, "i32": np.int32}
KNOWN = {"Parameter", "Const", "Convolution", "Add", "ReLU", "Interpolate", "Tanh", "Result"}
TOLERANCE = 1e-4
CONV_ATTRIBUTES = ("pads_begin", "pads_end", "strides", "dilations")
MAX_PIXELS = 4096 * 4096  # of the graph's input and of any upsampling: far above the face model's 256² or 512²


@contextlib.contextmanager
def refused_as(src: str, what: str):
    """A malformed attribute (a missing id, a number that is not one) or a graph whose shapes do not fit when run
    becomes one line naming the file, not Python's or torch's error."""
    try:
        yield
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RuntimeError) as e:  # never a UserError
        raise UserError(f"{src}: {what} ({type(e).__name__}: {str(e).strip().splitlines()[0][:160]})") from None


@dataclass
class Layer:
    id: int
    type: str
    name: str
    data: dict
    out_shape: tuple | None
    inputs: list = field(default_factory=list)  # producing layer id per input port (filled from the edges)


@dataclass
class IRGraph:
    source: str
    layers: dict  # id -> Layer, in file order
    consts: dict  # Const layer id -> np.ndarray
    consumers: dict  # layer id -> [consuming layer ids]

    def order(self) -> list[Layer]:
        """Layers in a topological order of the edges (ties by id)."""
        pending = {i: len(layer.inputs) for i, layer in self.layers.items()}
        ready = sorted(i for i, n in pending.items() if n == 0)
        out = []
        while ready:
            i = ready.pop(0)
            out.append(self.layers[i])
            for j in self.consumers.get(i, []):
                pending[j] -= 1
                if pending[j] == 0:
                    ready.append(j)
                    ready.sort()
        if len(out) != len(self.layers):
            raise UserError(f"{self.source}: the graph has a cycle or a dangling edge")
        return out


def _shape(port) -> tuple:
    return tuple(int(d.text) for d in port.findall("dim"))


def read_ir(xml_path, bin_path=None) -> IRGraph:
    """Parse the XML and read every Const from the .bin (default: beside the XML, same stem)."""
    xml_path = Path(xml_path)
    bin_path = Path(bin_path) if bin_path else xml_path.with_suffix(".bin")
    for p in (xml_path, bin_path):
        if not p.is_file():
            raise UserError(f"{p}: file not found")
    src = str(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise UserError(f"{src}: not an XML file ({e})") from None
    if root.tag != "net" or root.get("version") != "10" or root.find("layers") is None:
        raise UserError(f"{src}: not an OpenVINO IR version 10 (<net version=\"10\"> with <layers>)")
    blob = bin_path.read_bytes()
    with refused_as(src, "a layer or an edge is malformed"):
        return _graph(root, blob, src, bin_path)


def _graph(root, blob: bytes, src: str, bin_path: Path) -> IRGraph:
    layers, consts = {}, {}
    port_index = {}  # (layer id, port id) -> input position
    for el in root.findall("layers/layer"):
        lid, kind, name = int(el.get("id")), el.get("type"), el.get("name", "")
        if kind not in KNOWN:
            raise UserError(f"{src}: unsupported layer type '{kind}' (layer {lid} '{name}'); this reader knows "
                            f"{', '.join(sorted(KNOWN))}")
        data = dict(el.find("data").attrib) if el.find("data") is not None else {}
        ports = el.findall("input/port")
        for k, port in enumerate(ports):
            port_index[(lid, int(port.get("id")))] = k
        outs = [_shape(p) for p in el.findall("output/port")]
        layers[lid] = Layer(lid, kind, name, data, outs[0] if outs else None, [None] * len(ports))
        if kind == "Const":
            consts[lid] = _constant(data, blob, src, f"layer {lid} '{name}'", bin_path)
            if outs and consts[lid].shape != outs[0]:
                raise UserError(f"{src}: constant '{name}' has shape {consts[lid].shape} but its port says {outs[0]}")
    consumers: dict[int, list] = {}
    for e in root.findall("edges/edge"):
        a, b, to_port = int(e.get("from-layer")), int(e.get("to-layer")), int(e.get("to-port"))
        if a not in layers or (b, to_port) not in port_index:
            raise UserError(f"{src}: an edge names layer {a} or port {b}:{to_port}, which does not exist")
        layers[b].inputs[port_index[(b, to_port)]] = a
        consumers.setdefault(a, []).append(b)
    for layer in layers.values():
        if None in layer.inputs:
            raise UserError(f"{src}: input {layer.inputs.index(None)} of layer {layer.id} '{layer.name}' "
                            f"({layer.type}) is not connected")
    unused = [layers[i].name for i in consts if i not in consumers]
    if unused:
        raise UserError(f"{src}: {len(unused)} constant(s) used by no layer, e.g. '{unused[0]}'")
    return IRGraph(src, layers, consts, consumers)


def _constant(data: dict, blob: bytes, src: str, what: str, bin_path) -> np.ndarray:
    dtype = ELEMENT_TYPES.get(data.get("element_type"))
    if dtype is None:
        raise UserError(f"{src}: {what}: element type '{data.get('element_type')}' is not supported")
    try:
        offset, size = int(data["offset"]), int(data["size"])
        shape = tuple(int(s) for s in data["shape"].split(",") if s != "")
    except (KeyError, ValueError):
        raise UserError(f"{src}: {what}: a constant needs offset, size and shape") from None
    count = int(np.prod(shape)) if shape else 1
    if size != count * np.dtype(dtype).itemsize:
        raise UserError(f"{src}: {what}: size {size} bytes does not fit shape {shape} of {data['element_type']}")
    if offset < 0 or offset + size > len(blob):
        raise UserError(f"{src}: {what}: bytes {offset}–{offset + size} lie outside {bin_path} "
                        f"({len(blob)} bytes)")
    return np.frombuffer(blob, dtype, count, offset).reshape(shape).copy()


def run_graph(graph: IRGraph, x: torch.Tensor) -> torch.Tensor:
    """Interpret the graph op by op in float32 (the reference the rebuilt model is checked against)."""
    values: dict[int, torch.Tensor] = {}
    out = None
    for layer in graph.order():
        args = [values[i] for i in layer.inputs]
        if layer.type == "Parameter":
            values[layer.id] = x
        elif layer.type == "Const":
            values[layer.id] = torch.from_numpy(graph.consts[layer.id].astype(
                np.float32 if graph.consts[layer.id].dtype.kind == "f" else np.int64))
        elif layer.type == "Convolution":
            pads, ends, stride, dil = ([int(v) for v in layer.data[k].split(",")] for k in CONV_ATTRIBUTES)
            y = F.pad(args[0], (pads[1], ends[1], pads[0], ends[0]))
            values[layer.id] = F.conv2d(y, args[1], stride=stride, dilation=dil)
        elif layer.type == "Add":
            values[layer.id] = args[0] + args[1]
        elif layer.type == "ReLU":
            values[layer.id] = torch.relu(args[0])
        elif layer.type == "Tanh":
            values[layer.id] = torch.tanh(args[0])
        elif layer.type == "Interpolate":
            if layer.data.get("mode") != "nearest":
                raise UserError(f"{graph.source}: Interpolate '{layer.name}' mode '{layer.data.get('mode')}' "
                                f"is not supported (nearest only)")
            size = [int(v) for v in args[1].tolist()]
            if np.prod(size, dtype=np.float64) > MAX_PIXELS:
                raise UserError(f"{graph.source}: Interpolate '{layer.name}' to {size}: larger than any face model")
            values[layer.id] = F.interpolate(args[0], size=size, mode="nearest")
        elif layer.type == "Result":
            out = args[0]
    if out is None:
        raise UserError(f"{graph.source}: the graph has no Result")
    return out


def _conv_units(graph: IRGraph) -> list[dict]:
    """Each Convolution in graph order with its weight (the Const on port 1) and bias (the Const added to it)."""
    units = []
    for layer in graph.order():
        if layer.type != "Convolution":
            continue
        src, what = graph.source, f"convolution {layer.id} '{layer.name}'"
        w_id = layer.inputs[1]
        if graph.layers[w_id].type != "Const":
            raise UserError(f"{src}: {what}: its weight is computed by a {graph.layers[w_id].type}, not a constant")
        nxt = graph.consumers.get(layer.id, [])
        adds = [graph.layers[i] for i in nxt if graph.layers[i].type == "Add"]
        bias = None
        if len(nxt) == 1 and adds:
            other = [i for i in adds[0].inputs if i != layer.id]
            if other and graph.layers[other[0]].type == "Const":
                bias = graph.consts[other[0]]
        weight = graph.consts[w_id]
        if bias is None:
            raise UserError(f"{src}: {what}: no per-channel bias constant is added to its output")
        if weight.ndim != 4 or bias.shape not in {(weight.shape[0],), (1, weight.shape[0], 1, 1)}:
            raise UserError(f"{src}: {what}: weight {weight.shape} and bias {bias.shape} do not fit each other")
        attributes = {k: layer.data.get(k) for k in CONV_ATTRIBUTES}  # all four are required in opset1
        stride = {"1,1": 1, "2,2": 2}.get(attributes["strides"])
        if stride is None or any(attributes[k] != "1,1" for k in ("pads_begin", "pads_end", "dilations")):
            raise UserError(f"{src}: {what}: {attributes} is not the face model's 3×3 convolution (pad 1, stride 1 "
                            f"or 2, no dilation)")
        units.append({"what": what, "weight": weight, "bias": bias.reshape(-1), "stride": stride})
    return units


def _expected_convs(G: FaceGenerator) -> list[tuple[str, int]]:
    """(state-dict prefix, stride) of every convolution application in FaceGenerator.forward's order."""
    down = [(f"down{k}.conv_layer.{i}", 2 if i == 0 else 1) for k in (1, 2, 3, 4) for i in (0, 3)]
    res = [(f"res_blocks.0.conv_layer.{i}", 1) for _ in range(G.num_blocks) for i in (0, 3)]
    up = [(f"up{k}.conv_layer.{i}", 1) for k in (1, 2, 3, 4) for i in (0, 4)]
    return down + res + up


def face_generator_from_ir(graph: IRGraph) -> FaceGenerator:
    """The graph's weights in a FaceGenerator with identity BatchNorm, checked against the graph's own output."""
    with refused_as(graph.source, "the graph does not fit the face generator"):
        return _face_generator(graph)


def _face_generator(graph: IRGraph) -> FaceGenerator:
    src = graph.source
    units = _conv_units(graph)
    if len(units) < 16 or len(units) % 2:
        raise UserError(f"{src}: {len(units)} convolutions; the face generator has 16 + 2 per residual "
                        f"block application")
    G = identity_batchnorm(FaceGenerator(units[0]["weight"].shape[0], (len(units) - 16) // 2)).eval()
    params = dict(G.named_parameters())
    seen: dict[str, dict] = {}
    for (prefix, stride), unit in zip(_expected_convs(G), units):
        want = tuple(params[f"{prefix}.weight"].shape)
        if unit["weight"].shape != want or unit["stride"] != stride:
            raise UserError(f"{src}: {unit['what']}: weight {unit['weight'].shape}, stride {unit['stride']} does not "
                            f"fit the face generator's {prefix} ({want}, stride {stride})")
        if prefix in seen:  # a later application of the shared residual block
            if not (np.array_equal(seen[prefix]["weight"], unit["weight"])
                    and np.array_equal(seen[prefix]["bias"], unit["bias"])):
                raise UserError(f"{src}: {unit['what']}: the residual block is applied with other weights than "
                                f"its first application; the face generator shares one block")
            continue
        seen[prefix] = unit
        with torch.no_grad():
            params[f"{prefix}.weight"].copy_(torch.from_numpy(unit["weight"].astype(np.float32)))
            params[f"{prefix}.bias"].copy_(torch.from_numpy(unit["bias"].astype(np.float32)))
    shape = next((layer.out_shape for layer in graph.layers.values() if layer.type == "Parameter"), None)
    if shape is None or len(shape) != 4 or shape[1] != 3 or np.prod(shape[2:], dtype=np.float64) > MAX_PIXELS:
        raise UserError(f"{src}: the graph's input {shape} is not an RGB image of at most {MAX_PIXELS} pixels")
    x = torch.rand(1, *shape[1:], generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        diff = float((run_graph(graph, x) - G(x)).abs().max())
    if not diff < TOLERANCE:
        raise UserError(f"{src}: the graph does not compute the face generator's forward (max difference "
                        f"{diff:.2e} between the graph and the rebuilt model)")
    return G


def convert_ir(xml_path, out, bin_path=None) -> Path:
    """An OpenVINO IR of the face model -> this project's checkpoint at ``out`` (fp32 weights)."""
    G = face_generator_from_ir(read_ir(xml_path, bin_path))
    return save_released(out, G, xml_path, "OpenVINO IR v10")


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("xml", help="the IR's .xml (its .bin beside it)")
    p.add_argument("out", help="output .pth")
    opts = p.parse_args(argv)
    print(f"converted {opts.xml} -> {convert_ir(opts.xml, opts.out)}; run: python test.py --model {opts.out} "
          f"--input PHOTO")


if __name__ == "__main__":
    main()
