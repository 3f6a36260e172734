"""The OpenVINO IR reader on IRs the tests write (conftest.write_face_ir: BatchNorm folded, the shared residual
block written once per application), against the module the IR was written from (unfolded BatchNorm, another
computation), and its one-line refusals."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.released.openvino_ir import convert_ir, face_generator_from_ir, read_ir, run_graph
from tests.conftest import IRWriter, face_model, write_face_ir
from utils.errors import UserError


def test_rebuilt_model_computes_what_the_written_module_computes(face_ir):
    G, xml = face_ir
    graph = read_ir(xml)
    rebuilt = face_generator_from_ir(graph)
    x = torch.rand(2, 3, 48, 64) * 2 - 1  # another size than the IR's 32²: the model is fully convolutional
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), G(x), atol=1e-5)
        # the graph interpreter, on the graph's own shape, agrees with the module as well
        assert torch.allclose(run_graph(graph, x[:1, :, :32, :32]), G(x[:1, :, :32, :32]), atol=1e-5)
    # one block, applied num_blocks times: a single set of residual weights
    assert rebuilt.res_blocks[0] is rebuilt.res_blocks[1] and rebuilt.num_blocks == 2


def test_fp16_constants_as_the_real_export_stores_them(tmp_path):
    G = face_model(seed=3)
    rebuilt = face_generator_from_ir(read_ir(write_face_ir(G, tmp_path / "f16.xml", dtype=np.float16)))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        diff = (rebuilt(x) - G(x)).abs().max()
    assert 0 < diff < 1e-2  # rounded to fp16, not identical


def test_identity_batchnorm_leaves_folded_weights_exact(face_ir):
    rebuilt = face_generator_from_ir(read_ir(face_ir[1]))
    bn = rebuilt.down1.conv_layer[1]
    x = torch.randn(1, bn.num_features, 4, 4)
    assert torch.equal(bn(x), x)
    rebuilt.train()  # BatchNorm stays in eval mode while training
    assert not bn.training and torch.equal(bn(x), x)


def test_converted_checkpoint_records_its_generator(face_ir, tmp_path):
    from inference.cartoonise import load_generator

    G, xml = face_ir
    out = convert_ir(xml, tmp_path / "face.pth")
    assert torch.load(out, weights_only=True)["arch"] == {"generator": "facial", "channel": 4, "num_blocks": 2}
    loaded = load_generator(out, "cpu")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(x), G(x), atol=1e-5)


def edit(xml, pattern, repl, count=1):
    text = xml.read_text()
    new = re.sub(pattern, repl, text, count=count)
    assert new != text
    xml.write_text(new)


@pytest.fixture
def ir(tmp_path):
    return write_face_ir(face_model(), tmp_path / "m.xml", dtype=np.float32)


def refused(xml, message):
    """The whole one-line message: the XML's path, then ``message`` (a regular expression)."""
    with pytest.raises(UserError) as e:
        face_generator_from_ir(read_ir(xml))
    match = re.fullmatch(re.escape(str(xml)) + ": " + message, str(e.value))
    assert match, str(e.value)
    return match


def test_refuses_a_missing_constant(ir):
    # drop the edge that feeds the first convolution its weight: the conv's port 1 has no producer
    edit(ir, r'<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>', "")
    refused(ir, r"input 1 of layer 2 'l2' \(Convolution\) is not connected")


def test_refuses_a_constant_whose_size_does_not_fit_its_shape(ir):
    edit(ir, r'shape="8,4,3,3" size="1152"', 'shape="8,4,3,4" size="1152"')
    refused(ir, r"layer \d+ 'l\d+': size 1152 bytes does not fit shape \(8, 4, 3, 4\) of f32")


def test_refuses_a_weight_of_the_wrong_shape(tmp_path):
    G = face_model()  # down3's first conv made 8 -> 10 channels (the face generator's is 8 -> 12): still runs
    G.down3.conv_layer[0], G.down3.conv_layer[1] = torch.nn.Conv2d(8, 10, 3, 2, 1), torch.nn.BatchNorm2d(10).eval()
    G.down3.conv_layer[3] = torch.nn.Conv2d(10, 12, 3, 1, 1)
    refused(write_face_ir(G, tmp_path / "bad.xml", dtype=np.float32),
            r"convolution \d+ 'l\d+': weight \(10, 8, 3, 3\), stride 2 does not fit the face generator's "
            r"down3\.conv_layer\.0 \(\(12, 8, 3, 3\), stride 2\)")


def test_refuses_an_unused_constant(ir):
    text = ir.read_text().replace("</layers>", '<layer id="999" name="stray" type="Const" version="opset1">'
                                  '<data element_type="f32" offset="0" shape="1" size="4"/>'
                                  '<output><port id="0"><dim>1</dim></port></output></layer></layers>')
    ir.write_text(text)
    refused(ir, r"1 constant\(s\) used by no layer, e\.g\. 'stray'")


def test_refuses_a_residual_block_with_other_weights_per_application(tmp_path):
    xml = write_face_ir(face_model(), tmp_path / "unshared.xml", dtype=np.float32, shared=False)
    refused(xml, r"convolution \d+ 'l\d+': the residual block is applied with other weights than its first "
                 r"application; the face generator shares one block")


def test_refuses_a_graph_that_computes_something_else(ir):
    edit(ir, 'type="Tanh"', 'type="ReLU"')  # every layer known, every weight in place: only the forward differs
    refused(ir, r"the graph does not compute the face generator's forward \(max difference \d\.\d\de-\d\d "
                 r"between the graph and the rebuilt model\)")


def test_missing_bin_is_one_line(ir):
    ir.with_suffix(".bin").unlink()
    with pytest.raises(UserError, match="m.bin: file not found"):
        read_ir(ir)


@pytest.mark.parametrize("pattern, repl, message", [
    (r"<net ", "<nut ", r"not an XML file \(mismatched tag: .*\)"),
    (r'(?s)<net (.*)</net>', r"<graph \1</graph>", "not an OpenVINO IR version 10 .*"),
    (r'version="10"', 'version="11"', r'not an OpenVINO IR version 10 \(<net version="10"> with <layers>\)'),
    (r'<layer id="(\d+)" name="l\d+" type="Tanh"', r'<layer id="\1" type="Sigmoid"',
     r"unsupported layer type 'Sigmoid' \(layer \d+ ''\); this reader knows Add, Const, Convolution, Interpolate, "
     r"Parameter, ReLU, Result, Tanh"),
    (r'element_type="f32" offset="0"', 'element_type="f64" offset="0"',
     r"layer 1 'l1': element type 'f64' is not supported"),
    (r'element_type="f32" offset="0"', 'element_type="f32"', r"layer 1 'l1': a constant needs offset, size and shape"),
    (r'(<layer id="1" name="l1" type="Const".*?<dim>)4<', r"\g<1>5<",
     r"constant 'l1' has shape \(4, 3, 3, 3\) but its port says \(5, 3, 3, 3\)"),
    (r'to-layer="2" to-port="1"', 'to-layer="2" to-port="7"',
     r"an edge names layer 1 or port 2:7, which does not exist"),
    (r'to-layer="2" to-port="1"', 'to-layer="9999" to-port="1"',
     r"an edge names layer 1 or port 9999:1, which does not exist"),
    (r'"mode": "nearest"|mode="nearest"', 'mode="linear"',
     r"Interpolate 'l\d+' mode 'linear' is not supported \(nearest only\)"),
    (r' dilations="1,1"', "", r"convolution 2 'l2': \{'pads_begin': '1,1', 'pads_end': '1,1', 'strides': '2,2', "
     r"'dilations': None\} is not the face model's 3×3 convolution \(pad 1, stride 1 or 2, no dilation\)"),
    (r'strides="2,2"', 'strides="3,3"', r"convolution 2 'l2': .* is not the face model's 3×3 convolution .*"),
    (r'pads_end="1,1"', 'pads_end="0,0"', r"convolution 2 'l2': .* is not the face model's 3×3 convolution .*"),
])
def test_each_refusal_names_the_file_and_what_is_wrong(ir, pattern, repl, message):
    edit(ir, pattern, repl)
    refused(ir, message)


def test_refuses_a_graph_without_a_result(ir):
    edit(ir, r'<layer id="(\d+)" name="l\d+" type="Result".*?</layer>', "")
    edit(ir, r'<edge from-layer="\d+" from-port="\d+" to-layer="\d+" to-port="0"/>\s*</edges>', "</edges>")
    refused(ir, "the graph has no Result")


def test_refuses_a_constant_outside_the_bin_saying_where(ir):
    size = len(ir.with_suffix(".bin").read_bytes())
    ir.with_suffix(".bin").write_bytes(ir.with_suffix(".bin").read_bytes()[:-100])
    where = refused(ir, rf"layer \d+ 'l\d+': bytes (\d+)–(\d+) lie outside .*m\.bin \({size - 100} bytes\)")
    start, end = map(int, where.groups())
    assert start < size - 100 < end <= size


def test_scalar_constants_and_a_bin_given_elsewhere(ir, tmp_path):
    from models.released.openvino_ir import _constant

    blob = np.float32(2.5).tobytes() + np.int32(7).tobytes()
    assert _constant({"element_type": "f32", "offset": "0", "size": "4", "shape": ""}, blob, "s", "w", "b") == 2.5
    assert _constant({"element_type": "i32", "offset": "4", "size": "4", "shape": "1"}, blob, "s", "w", "b") == [7]
    elsewhere = tmp_path / "other" / "weights.bin"
    elsewhere.parent.mkdir()
    ir.with_suffix(".bin").rename(elsewhere)
    G = face_generator_from_ir(read_ir(ir, elsewhere))
    ckpt = torch.load(convert_ir(ir, tmp_path / "face.pth", elsewhere), weights_only=True)
    assert ckpt["options"] == {"source": str(ir), "converted_from": "OpenVINO IR v10"}
    assert all(torch.equal(ckpt["G"][k], v) for k, v in G.state_dict().items())


def test_run_graph_is_a_general_interpreter_of_its_ops(tmp_path):
    """Uneven pads, strides and dilations per axis, an upsampling to a size given as an i64 constant: the
    interpreter (the reference the rebuilt model is checked against) reads each attribute of each axis."""
    ir = IRWriter(np.float32)
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(2, 3, 3, 3)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    x = ir.parameter((1, 3, 9, 10))
    y = ir.layer("Convolution", [x, ir.const(w)], (1, 2, 6, 5), {"strides": "1,2", "dilations": "2,1",
                                                                 "pads_begin": "0,1", "pads_end": "1,0"})
    y = ir.layer("Add", [y, ir.const(b.reshape(1, -1, 1, 1))], (1, 2, 6, 5))
    size = ir.const(np.array([12, 15]), np.int64)
    ir.layer("Result", [ir.layer("Interpolate", [y, size], (1, 2, 12, 15), {"axes": "2,3", "mode": "nearest"})],
             (1, 2, 12, 15))
    inp = torch.from_numpy(rng.normal(size=(1, 3, 9, 10)).astype(np.float32))
    want = F.conv2d(F.pad(inp, (1, 0, 0, 1)), torch.from_numpy(w), torch.from_numpy(b), stride=(1, 2), dilation=(2, 1))
    want = want.repeat_interleave(2, 2)[..., torch.arange(15) * 5 // 15]  # nearest: source index floor(i·5/15)
    got = run_graph(read_ir(ir.write(tmp_path / "ops.xml")), inp)
    assert got.shape == (1, 2, 12, 15)
    torch.testing.assert_close(got, want)


def test_sixteen_convolutions_are_a_model_without_residual_blocks_and_seventeen_are_refused(tmp_path):
    G = face_model(num_blocks=0)
    rebuilt = face_generator_from_ir(read_ir(write_face_ir(G, tmp_path / "none.xml", dtype=np.float32)))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert rebuilt.num_blocks == 0
    torch.testing.assert_close(rebuilt(x), G(x), atol=1e-5, rtol=0)
    ir = IRWriter(np.float32)
    y = ir.parameter((1, 3, 32, 32))
    for i in range(17):
        y = ir.conv(y, np.zeros((4, 3 if i == 0 else 4, 3, 3)), np.zeros(4))
    ir.layer("Result", [y], y[1])
    refused(ir.write(tmp_path / "odd.xml"),
            r"17 convolutions; the face generator has 16 \+ 2 per residual block application")


CONV = {"strides": "1,1", "dilations": "1,1", "pads_begin": "1,1", "pads_end": "1,1"}


def one_convolution(tmp_path, case):
    """Parameter (layer 0), a weight (1), a Convolution (2), then what ``case`` puts around it, then a Result."""
    ir = IRWriter(np.float32)
    x = ir.parameter((1, 3, 8, 8))
    weight = ir.const(np.zeros((4, 3, 3) if case == "3-d weight" else (4, 3, 3, 3)))
    conv = ir.layer("Convolution", [x, weight], (1, 4, 8, 8), CONV)
    bias = {"bias per input channel": np.zeros(3), "3-d weight": np.zeros(4)}.get(case, np.zeros((1, 4, 1, 1)))
    if case == "output unused":
        out = x
    elif case == "added to the input":
        out = ir.layer("Add", [conv, x], (1, 4, 8, 8))
    else:
        out = ir.layer("Add", [conv, ir.const(bias)], (1, 4, 8, 8))
        if case == "two consumers":
            ir.layer("ReLU", [conv], (1, 4, 8, 8))
    ir.layer("Result", [out], out[1])
    return ir.write(tmp_path / "one.xml")


@pytest.mark.parametrize("case, message", [
    ("output unused", "no per-channel bias constant is added to its output"),
    ("two consumers", "no per-channel bias constant is added to its output"),
    ("added to the input", "no per-channel bias constant is added to its output"),
    ("3-d weight", r"weight \(4, 3, 3\) and bias \(4,\) do not fit each other"),
    ("bias per input channel", r"weight \(4, 3, 3, 3\) and bias \(3,\) do not fit each other"),
])
def test_a_convolution_needs_a_constant_bias_of_its_own_added_to_it(tmp_path, case, message):
    """The folded BatchNorm is an Add of a per-output-channel constant, the convolution's only consumer."""
    refused(one_convolution(tmp_path, case), "convolution 2 'l2': " + message)


def test_a_convolution_whose_weight_is_computed_is_refused(tmp_path):
    ir = IRWriter(np.float32)
    x = ir.parameter((4, 4, 3, 3))
    conv = ir.layer("Convolution", [x, x], (4, 4, 3, 3), CONV)
    ir.layer("Result", [ir.layer("Add", [conv, ir.const(np.zeros(4))], (4, 4, 3, 3))], (4, 4, 3, 3))
    refused(ir.write(tmp_path / "w.xml"), "convolution 1 'l1': its weight is computed by a Parameter, not a constant")


def test_a_cycle_is_refused(tmp_path):
    ir = IRWriter(np.float32)
    x = ir.parameter((1, 3, 8, 8))
    a = ir.layer("ReLU", [x], x[1])
    b = ir.layer("ReLU", [a], x[1])
    ir.layer("Result", [b], x[1])
    ir.edges[ir.edges.index((x[0], a[0], 0))] = (b[0], a[0], 0)  # a reads b, b reads a
    refused(ir.write(tmp_path / "cycle.xml"), "the graph has a cycle or a dangling edge")


@pytest.mark.parametrize("part", [".xml", ".bin"])
def test_fuzz_face_model_from_ir(tmp_path, part):
    """What ``--model face.xml`` runs (read the IR, rebuild the face generator, check it against the graph) on a
    damaged .xml or .bin: a one-line UserError or a generator, never another error, a hang or a runaway
    allocation."""
    from hypothesis import given
    from hypothesis import strategies as st

    from tests.conftest import face_model, write_face_ir
    from tests.fuzzing import assert_valid_or, attributes_damaged, bounded, damaged

    xml = write_face_ir(face_model(), tmp_path / "face.xml", dtype=np.float32)
    target = xml.with_suffix(part)
    valid = target.read_bytes()

    def rebuilt(path):
        return face_generator_from_ir(read_ir(path)).arch()

    @given(st.one_of(damaged(valid), attributes_damaged(valid)) if part == ".xml" else damaged(valid))
    def check(data):
        target.write_bytes(data)
        assert_valid_or(bounded(rebuilt, xml), UserError)

    check()
