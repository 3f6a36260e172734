"""Read a TensorFlow checkpoint (the V2 "tensor bundle" that tf.train.Saver writes) without TensorFlow.

A checkpoint PREFIX is two files: PREFIX.index, a LevelDB-format sorted table mapping each variable name to a
BundleEntryProto (dtype, shape, shard, offset, size), and PREFIX.data-SSSSS-of-NNNNN, the raw little-endian
tensor bytes. Only what White-box's checkpoint uses is supported: uncompressed blocks, float/int dtypes.
"""
import struct
from pathlib import Path

import numpy as np

from utils.errors import UserError

TABLE_MAGIC = 0xDB4775248B80FB57
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 6: np.int8, 9: np.int64, 10: np.bool_,
          19: np.float16}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of a serialised protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _dim_size(dim: bytes) -> int:
    """TensorShapeProto.Dim.size (field 1; absent means 0)."""
    return next((v for f, _, v in _fields(dim) if f == 1), 0)


def _block_entries(data: bytes, offset: int, size: int):
    """Key/value pairs of one table block (keys are prefix-compressed against the previous key)."""
    block = data[offset:offset + size]
    if data[offset + size] != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _entries(index: bytes):
    """Every (name, BundleEntryProto bytes) of the .index table, in order."""
    footer = index[-48:]
    if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
        raise ValueError("not a TensorFlow checkpoint index (bad table magic)")
    pos = 0
    _, pos = _varint(footer, pos)  # metaindex handle: offset, size
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    for _, handle in _block_entries(index, index_offset, index_size):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        yield from _block_entries(index, offset, size)


def _meta(value: bytes) -> dict:
    """A BundleEntryProto's fields. proto3 leaves out fields at their zero value: dtype DT_INVALID, a scalar's
    shape, shard 0, offset 0, size 0."""
    meta = {"dtype": 0, "shape": [], "shard": 0, "offset": 0, "size": 0}
    for field, _, v in _fields(value):
        if field == 1:
            meta["dtype"] = v
        elif field == 2:
            meta["shape"] = [_dim_size(dim) for f2, _, dim in _fields(v) if f2 == 2]
        elif field in (3, 4, 5):
            meta[{3: "shard", 4: "offset", 5: "size"}[field]] = v
    return meta


def read_checkpoint(prefix) -> dict[str, np.ndarray]:
    """All variables of the checkpoint at ``prefix`` (e.g. saved_models/model-33999) as numpy arrays."""
    prefix = Path(prefix)
    index_file = prefix.with_name(prefix.name + ".index")
    if not index_file.is_file():
        raise UserError(f"{index_file}: checkpoint index not found")
    try:  # the empty key is the BundleHeaderProto
        entries = [(key.decode(), _meta(value)) for key, value in _entries(index_file.read_bytes()) if key]
    except (ValueError, IndexError, struct.error) as e:  # UnicodeDecodeError is a ValueError
        raise UserError(f"{index_file}: not a readable TensorFlow checkpoint index ({e})") from None
    shards: dict[int, bytes] = {}
    tensors = {}
    for name, meta in entries:
        if meta["dtype"] not in DTYPES:
            continue  # e.g. strings (DT_STRING); White-box's generator has none
        if meta["shard"] not in shards:
            candidates = sorted(prefix.parent.glob(f"{prefix.name}.data-{meta['shard']:05d}-of-*"))
            if not candidates:
                raise UserError(f"{prefix}.data-{meta['shard']:05d}-of-*: checkpoint data file not found")
            shards[meta["shard"]] = candidates[0].read_bytes()
        raw = shards[meta["shard"]][meta["offset"]:meta["offset"] + meta["size"]]
        if len(raw) != meta["size"]:
            raise UserError(f"{prefix}: data file is shorter than its index says (variable {name})")
        try:
            tensors[name] = np.frombuffer(raw, DTYPES[meta["dtype"]]).reshape(meta["shape"]).copy()
        except ValueError:
            raise UserError(f"{prefix}: variable {name}: {meta['size']} bytes of {DTYPES[meta['dtype']].__name__} "
                            f"do not make shape {tuple(meta['shape'])}") from None
    return tensors
