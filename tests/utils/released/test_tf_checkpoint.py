"""The TF-free tensor-bundle reader on bundles built by hand (tests/conftest.py writes the format from its
description: a LevelDB table of BundleEntryProto + a raw data file), independent of TensorFlow."""
import numpy as np
import pytest

from tests.conftest import whitebox_variables, write_tf_bundle
from utils.errors import UserError
from utils.released.convert import convert, find_prefix
from utils.released.tf_checkpoint import read_checkpoint


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
