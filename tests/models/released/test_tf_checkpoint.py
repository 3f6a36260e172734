"""The TF-free tensor-bundle reader on bundles built by hand (tests/conftest.py writes the format from its
description: a LevelDB table of BundleEntryProto + a raw data file), independent of TensorFlow."""

import numpy as np
import pytest

from models.released.convert import convert, find_prefix
from models.released.tf_checkpoint import _block_entries, _fields, read_checkpoint
from tests.conftest import _block, _field, _varint, whitebox_variables, write_bundle, write_tf_bundle
from utils.errors import UserError


def test_reads_every_variable_with_shape_and_values(tmp_path):
    tensors = {"a/weights": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "b": np.float32([1.5, -2]),
               "c/biases": np.zeros((0,), np.float32)}
    write_tf_bundle(tmp_path / "m-1", tensors)
    got = read_checkpoint(tmp_path / "m-1")
    assert set(got) == set(tensors)
    for name, value in tensors.items():
        np.testing.assert_array_equal(got[name], value)


def test_converted_kernels_are_oihw_with_rgb_channel_order(whitebox_folder):
    variables = whitebox_variables()
    state = convert(read_checkpoint(find_prefix(whitebox_folder)), "test")
    hwio = variables["generator/Conv_2/weights"]  # no channel flip inside the network
    np.testing.assert_array_equal(state["conv1.weight"].numpy(), hwio.transpose(3, 2, 0, 1))
    first = variables["generator/Conv/weights"].transpose(3, 2, 0, 1)
    np.testing.assert_array_equal(state["conv0.weight"].numpy(), first[:, ::-1])  # BGR input -> RGB
    np.testing.assert_array_equal(state["out.bias"].numpy(), variables["generator/Conv_9/biases"][::-1])


def test_damaged_index_and_short_data_file(tmp_path):
    write_tf_bundle(tmp_path / "m-1", {"x": np.ones((4, 4), np.float32)})
    data = tmp_path / "m-1.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(UserError, match="data file is shorter than its index says"):
        read_checkpoint(tmp_path / "m-1")
    (tmp_path / "m-1.index").write_bytes(b"\0" * 60)
    with pytest.raises(UserError, match="not a readable TensorFlow checkpoint index"):
        read_checkpoint(tmp_path / "m-1")


def _fixed(number: int, raw: bytes) -> bytes:
    """A protobuf fixed64 (wire type 1) or fixed32 (wire type 5) field."""
    return _varint(number << 3 | (1 if len(raw) == 8 else 5)) + raw


def test_protobuf_fields_of_every_wire_type_the_reader_knows():
    message = (_field(1, 300) + _fixed(2, b"abcdefgh") + _field(3, b"xyz") + _fixed(4, b"1234") + _field(5, 7))
    assert list(_fields(message)) == [(1, 0, 300), (2, 1, b"abcdefgh"), (3, 2, b"xyz"), (4, 5, b"1234"), (5, 0, 7)]
    with pytest.raises(ValueError, match="^unsupported protobuf wire type 3$"):
        list(_fields(_varint(6 << 3 | 3) + b"\0"))


def test_reads_a_bundle_laid_out_as_tensorflow_writes_it(tmp_path):
    """Prefix-compressed keys with restart points, two shards, proto3 leaving zero fields out (the first variable
    of a shard at offset 0, shard 0, a scalar's empty shape, an empty tensor's size 0 and its size-0 dim), a string
    variable (DT_STRING, 7) and one without a dtype (DT_INVALID), both skipped and neither stopping the read."""
    f64 = np.arange(6, dtype=np.float64).reshape(2, 3)
    variables = {
        "generator/Conv/weights": (1, np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 2, 2), 0),
        "generator/Conv/biases": (1, np.float32([0.5, -0.5]), 1),
        "generator/Conv_1/weights": (2, f64, 0),
        "generator/a_string": (7, b"\x05hello", 1),
        "generator/b_invalid": (0, np.zeros(2, np.float32), 1),
        "generator/empty": (1, np.zeros((0, 4), np.float32), 0),
        "global_step": (9, np.array(33999, np.int64), 1),
    }
    write_bundle(tmp_path / "model-33999", variables, shards=2)
    got = read_checkpoint(tmp_path / "model-33999")
    skipped = {"generator/a_string", "generator/b_invalid"}
    assert set(got) == set(variables) - skipped
    for name in set(variables) - skipped:
        want = variables[name][1]
        assert got[name].dtype == want.dtype and got[name].shape == want.shape
        np.testing.assert_array_equal(got[name], want)


def test_block_entries_restore_shared_key_prefixes_and_refuse_compression():
    """Eight keys, a restart every second one (so four restart offsets after the entries), the last entry 4 bytes."""
    pairs = [(b"generator/Conv/biases", b"1"), (b"generator/Conv/weights", b"22"), (b"generator/Conv_1/b", b""),
             (b"generator/Conv_1/w", b"4444"), (b"generator/Conv_2/b", b"5"), (b"generator/Conv_2/w", b"66"),
             (b"y", b"7"), (b"z", b"")]
    block = _block(pairs, restart_every=2)
    assert list(_block_entries(block + b"\0", 0, len(block) - 5)) == pairs
    compressed = _block(pairs, compression=1)
    with pytest.raises(ValueError, match="^compressed checkpoint index blocks are not supported$"):
        list(_block_entries(compressed, 0, len(compressed) - 5))


def test_missing_index_and_bad_magic_are_named_in_one_line(tmp_path):
    with pytest.raises(UserError, match=f"^{tmp_path / 'm-1.index'}: checkpoint index not found$"):
        read_checkpoint(tmp_path / "m-1")
    write_tf_bundle(tmp_path / "m-1", {"x": np.ones(2, np.float32)})
    index = tmp_path / "m-1.index"
    index.write_bytes(index.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(UserError, match=r"^.*m-1\.index: not a readable TensorFlow checkpoint index "
                                        r"\(not a TensorFlow checkpoint index \(bad table magic\)\)$"):
        read_checkpoint(tmp_path / "m-1")


@pytest.mark.parametrize("part", ["index", "data-00000-of-00001"])
def test_fuzz_read_checkpoint(tmp_path, part):
    """A damaged index or data file of a real bundle is a UserError or a dict of arrays, never another error."""
    from hypothesis import given

    from tests.fuzzing import assert_valid_or, bounded, damaged

    write_bundle(tmp_path / "m-1", {"a/weights": (1, np.arange(24, dtype=np.float32).reshape(2, 3, 4), 0),
                                    "b/biases": (1, np.float32([1.5, -2]), 0), "c": (19, np.float16([1, 2, 3]), 0),
                                    "s": (7, b"\x03abc", 0)})
    target = tmp_path / f"m-1.{part}"
    valid = target.read_bytes()

    def shapes(prefix):
        return {k: v.shape for k, v in read_checkpoint(prefix).items()}

    @given(damaged(valid))
    def check(data):
        target.write_bytes(data)
        assert_valid_or(bounded(shapes, tmp_path / "m-1"), UserError)

    check()
