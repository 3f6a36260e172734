"""web/build.py: the exports are made once, again when older than their checkpoint, and a model that cannot be
had is listed with why (no browser needed)."""
import json
import os

from web.build import exports


def test_exports_are_made_once_redone_when_stale_and_unavailable_models_say_why(tmp_path, face_checkpoint, capsys):
    manifest = exports([str(face_checkpoint), "nosuch_model"], [32, 40], root=tmp_path)
    onnx = tmp_path / "models" / "facial_32.onnx"
    assert manifest["models"][0]["sizes"] == {"32": "models/facial_32.onnx"}  # 40 is not a multiple of 16
    missing = manifest["unavailable"][0]
    assert missing["name"] == "nosuch_model" and "not a model name" in missing["why"]
    assert json.loads((tmp_path / "models.json").read_text()) == manifest
    made = onnx.stat().st_mtime_ns
    exports([str(face_checkpoint)], [32], root=tmp_path)
    assert onnx.stat().st_mtime_ns == made  # up to date: not exported again
    os.utime(onnx, ns=(made, face_checkpoint.stat().st_mtime_ns - 10**9))  # older than its checkpoint
    exports([str(face_checkpoint)], [32], root=tmp_path)
    assert onnx.stat().st_mtime_ns > face_checkpoint.stat().st_mtime_ns and "exporting" in capsys.readouterr().out
    made = onnx.stat().st_mtime_ns
    (tmp_path / "models.json").write_text(json.dumps({**manifest, "graph": 1}))  # built by an earlier version
    exports([str(face_checkpoint)], [32], root=tmp_path)
    assert onnx.stat().st_mtime_ns > made and json.loads((tmp_path / "models.json").read_text())["graph"] >= 2


def test_the_face_detector_is_the_authors_file_served_without_weights_among_its_inputs(tmp_path):
    """web/detector/ holds UltraFace byte for byte (its git blob id, as its README gives it); the served copy has
    one input, the image, and computes the same boxes on a real face."""
    import hashlib

    import cv2
    import numpy as np
    import onnxruntime as ort
    from skimage import data

    from web.build import DETECTOR, detector

    raw = DETECTOR.read_bytes()
    assert hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest() == "a5e23096986e29ffbd2e113288050b1a91d76551"
    assert (DETECTOR.parent / "LICENSE").read_text().startswith("MIT License")
    served = tmp_path / detector(tmp_path, lambda *_: None)
    x = ((cv2.resize(data.astronaut(), (320, 240)).astype(np.float32) - 127) / 128).transpose(2, 0, 1)[None]
    session = ort.InferenceSession(str(served), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    scores, boxes = session.run(None, {"input": x})
    best = scores[0, :, 1].argmax()
    assert scores[0, best, 1] > 0.99
    np.testing.assert_allclose(boxes[0, best] * 512, [178, 62, 273, 174], atol=6)  # the README's box, in pixels
