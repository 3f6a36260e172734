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
