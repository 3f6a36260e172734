"""The TensorFlow side of test_convert.py, run in its own process (TensorFlow and torch in one process crash:
importing triton through torch._dynamo after TensorFlow's libraries segfaults).

    python tests/models/released/tf_reference.py OUT

Writes OUT/wb/model-33999.* (a TF re-implementation of White-box's ``unet_generator``, random weights, saved as
White-box saves it), OUT/partial/model-1.* (a checkpoint holding one variable), and OUT/reference.npz: the TF
output of ``guided_filter(x, G(x), r=1, eps=5e-3)`` on the astronaut (BGR, 256²) and on a red-only ramp fed as
BGR, and every variable as ``tf.train.load_checkpoint`` reads it back.
"""
import sys
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
from skimage import data

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


def main(out: Path):
    photo_rgb = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    red = np.full((64, 64, 3), -1.0, np.float32)
    red[..., 0] = np.linspace(-1, 1, 64)[None, :]
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, None, None, 3])
        out_t = tf_guided_filter(x, tf_unet_generator(x), 1, 5e-3)
        sess.run(v1.global_variables_initializer())
        v1.train.Saver().save(sess, str(out / "wb" / "model"), global_step=33999)
        run = lambda bgr: sess.run(out_t, {x: bgr[None].astype(np.float32)})[0]  # noqa: E731
        astronaut = run(photo_rgb[..., ::-1].astype(np.float32) / 127.5 - 1)
        red_out = run(red[..., ::-1])  # red in the last channel, as White-box (BGR) sees a red image
    reader = tf.train.load_checkpoint(str(out / "wb" / "model-33999"))
    variables = {f"var/{n}": reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        with v1.variable_scope("generator/Conv"):
            v1.get_variable("weights", [7, 7, 3, 32])
        sess.run(v1.global_variables_initializer())
        v1.train.Saver().save(sess, str(out / "partial" / "model"), global_step=1)
    np.savez(out / "reference.npz", photo_rgb=photo_rgb, astronaut_bgr=astronaut, red=red, red_bgr_out=red_out,
             **variables)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
