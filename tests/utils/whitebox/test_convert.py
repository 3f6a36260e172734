"""The converter against a checkpoint written by TensorFlow from a TF re-implementation of White-box's
``unet_generator`` and ``guided_filter`` (random weights): same pixels through the test-time guided filter."""
import cv2
import numpy as np
import pytest
import torch
from skimage import data

import test as test_script
import utils.whitebox.convert as convert_whitebox
from models.generator import cartoonize
from utils.image_io import read_image
from utils.inference.cartoonise import load_generator
from utils.whitebox.tf_checkpoint import read_checkpoint

tf = pytest.importorskip("tensorflow", reason="TensorFlow not installed (pip install tensorflow-cpu)")
v1 = tf.compat.v1


def tf_conv(x, channels, k, stride=1, scope=None):
    """slim.convolution2d(x, channels, [k, k], stride, activation_fn=None): 'SAME' padding, Glorot weights."""
    with v1.variable_scope(scope):
        w = v1.get_variable("weights", [k, k, x.shape[-1], channels], initializer=v1.glorot_uniform_initializer())
        b = v1.get_variable("biases", [channels], initializer=v1.random_normal_initializer(stddev=0.05))
    return tf.nn.conv2d(x, w, [1, stride, stride, 1], "SAME") + b


def tf_unet_generator(x, channel=32, num_blocks=4):
    lrelu = lambda t: tf.nn.leaky_relu(t, 0.2)  # noqa: E731
    names = iter(["Conv"] + [f"Conv_{i}" for i in range(1, 10)])
    with v1.variable_scope("generator"):
        x0 = lrelu(tf_conv(x, channel, 7, scope=next(names)))
        x1 = lrelu(tf_conv(x0, channel, 3, 2, scope=next(names)))
        x1 = lrelu(tf_conv(x1, channel * 2, 3, scope=next(names)))
        x2 = lrelu(tf_conv(x1, channel * 2, 3, 2, scope=next(names)))
        x2 = lrelu(tf_conv(x2, channel * 4, 3, scope=next(names)))
        for i in range(num_blocks):
            with v1.variable_scope(f"block_{i}"):
                y = lrelu(tf_conv(x2, channel * 4, 3, scope="conv1"))
                x2 = x2 + tf_conv(y, channel * 4, 3, scope="conv2")
        x2 = lrelu(tf_conv(x2, channel * 2, 3, scope=next(names)))
        h, w = tf.shape(x2)[1], tf.shape(x2)[2]
        x3 = v1.image.resize_bilinear(x2, (h * 2, w * 2), align_corners=False, half_pixel_centers=False)
        x3 = lrelu(tf_conv(x3 + x1, channel * 2, 3, scope=next(names)))
        x3 = lrelu(tf_conv(x3, channel, 3, scope=next(names)))
        h, w = tf.shape(x3)[1], tf.shape(x3)[2]
        x4 = v1.image.resize_bilinear(x3, (h * 2, w * 2), align_corners=False, half_pixel_centers=False)
        x4 = lrelu(tf_conv(x4 + x0, channel, 3, scope=next(names)))
        return tf_conv(x4, 3, 7, scope=next(names))


def tf_guided_filter(x, y, r, eps):
    """WB: depthwise box filter with 'SAME' zero padding, normalised by N = box(ones)."""
    def box(t):
        k = np.ones((2 * r + 1, 2 * r + 1, t.shape[-1], 1), np.float32) / (2 * r + 1) ** 2
        return tf.nn.depthwise_conv2d(t, k, [1, 1, 1, 1], "SAME")
    n = box(tf.ones_like(x[..., :1]))
    mean_x, mean_y = box(x) / n, box(y) / n
    cov_xy = box(x * y) / n - mean_x * mean_y
    var_x = box(x * x) / n - mean_x * mean_x
    A = cov_xy / (var_x + eps)
    b = mean_y - A * mean_x
    return box(A) / n * x + box(b) / n


@pytest.fixture(scope="module")
def tf_model(tmp_path_factory):
    """Saves model-33999 like White-box's and returns (folder, BGR photo in [-1, 1], TF output, run function)."""
    folder = tmp_path_factory.mktemp("wb")
    photo_rgb = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, None, None, 3])
        out = tf_guided_filter(x, tf_unet_generator(x), 1, 5e-3)
        sess = v1.Session(graph=graph)
        sess.run(v1.global_variables_initializer())
        v1.train.Saver().save(sess, str(folder / "model"), global_step=33999)

    def run(bgr):
        return sess.run(out, {x: bgr[None].astype(np.float32)})[0]

    bgr = photo_rgb[..., ::-1].astype(np.float32) / 127.5 - 1
    yield folder, photo_rgb, run(bgr), run
    sess.close()


def test_reader_matches_tensorflow_for_every_variable(tf_model):
    folder = tf_model[0]
    ours = read_checkpoint(folder / "model-33999")
    reader = tf.train.load_checkpoint(str(folder / "model-33999"))
    names = reader.get_variable_to_shape_map()
    assert set(ours) == set(names) and len(ours) == 36  # 18 convolutions: weights + biases
    for name in names:
        assert np.array_equal(ours[name], reader.get_tensor(name)), name


def test_converted_generator_reproduces_tf_on_a_real_photo(tf_model, tmp_path):
    folder, photo_rgb, tf_bgr, _ = tf_model
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    G = load_generator(tmp_path / "wb.pth", "cpu")
    assert sum(p.numel() for p in G.parameters()) == 1_467_075
    x = torch.from_numpy(photo_rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    with torch.no_grad():
        ours = cartoonize(G, x)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - tf_bgr[..., ::-1]).max() < 1e-4


def test_channel_order_red_only_input(tf_model, tmp_path):
    folder, _, _, run = tf_model
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    G = load_generator(tmp_path / "wb.pth", "cpu")
    red = np.full((64, 64, 3), -1.0, np.float32)
    red[..., 0] = np.linspace(-1, 1, 64)[None, :]
    with torch.no_grad():
        ours = cartoonize(G, torch.from_numpy(red).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    tf_out = run(red[..., ::-1])  # TF fed the BGR version: red in its last channel
    assert np.abs(ours - tf_out[..., ::-1]).max() < 1e-4
    assert np.abs(ours - tf_out).max() > 1e-2  # and the channel order matters


def test_test_script_writes_a_cartoon_at_the_photo_size(tf_model, tmp_path):
    folder = tf_model[0]
    convert_whitebox.main([str(folder), str(tmp_path / "wb.pth")])
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut()[:301, :250], cv2.COLOR_RGB2BGR))
    test_script.main(["--checkpoint", str(tmp_path / "wb.pth"), "--input", str(photo), "--out", str(tmp_path / "r"),
                      "--device", "cpu"])
    assert read_image(tmp_path / "r" / "cartoon" / "photo.png").shape == (301, 250, 3)


def test_missing_and_partial_checkpoints(tf_model, tmp_path, capsys):
    folder = tf_model[0]
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(tmp_path / "nowhere"), str(tmp_path / "o.pth")])
    assert "nowhere: no such checkpoint folder or prefix" in capsys.readouterr().err
    partial = tmp_path / "partial"
    partial.mkdir()
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        with v1.variable_scope("generator/Conv"):
            v1.get_variable("weights", [7, 7, 3, 32])
        sess.run(v1.global_variables_initializer())
        v1.train.Saver().save(sess, str(partial / "model"), global_step=1)
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(partial), str(tmp_path / "o.pth")])
    assert "not a complete White-box generator checkpoint" in capsys.readouterr().err
    (tmp_path / "nodata").mkdir()
    for f in folder.glob("model-33999.index"):
        (tmp_path / "nodata" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(SystemExit):
        convert_whitebox.main([str(tmp_path / "nodata"), str(tmp_path / "o.pth")])
    assert "checkpoint data file not found" in capsys.readouterr().err
