"""Named models: download from a server on 127.0.0.1 (never the internet), verify, convert, cache; and every
way that can fail leaves nothing behind and says so in one line."""
import functools
import http.server
import subprocess
import threading

import pytest
import torch

import models.released.pretrained as pretrained
import test as test_script
from models.released.pretrained import PretrainedModel, git_blob_id, resolve_model
from utils.errors import UserError
from utils.image_io import read_image

FILES = ("model-33999.index", "model-33999.data-00000-of-00001")


class Handler(http.server.SimpleHTTPRequestHandler):
    truncate = False

    def log_message(self, *_):
        pass

    def copyfile(self, source, outputfile):
        if self.truncate:  # promise the whole file in Content-Length, send half, hang up
            outputfile.write(source.read(len(source.peek()) // 2 or 1))
            return
        super().copyfile(source, outputfile)


@pytest.fixture
def server(whitebox_folder):
    handler = type("H", (Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=whitebox_folder))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def model_at(url, folder, blob=None):
    files = {f: (f"{url}/{f}", blob or git_blob_id(folder / f)) for f in FILES}
    return PretrainedModel("testwb", files, "test licence", "nothing", "a test server")


@pytest.fixture
def registry(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(pretrained, "REGISTRY", {})
    return pretrained.REGISTRY


def test_blob_id_is_git_hash_object(tmp_path):
    (tmp_path / "f").write_bytes(b"hello\n\0 world")
    want = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True).stdout.strip()
    assert git_blob_id(tmp_path / "f") == want


def test_download_verify_convert_then_reuse_offline(server, registry, whitebox_folder, tmp_path, capsys):
    httpd, _, url = server
    registry["testwb"] = model_at(url, whitebox_folder)
    path = resolve_model("testwb")
    assert path == tmp_path / "torch_home" / "facial-cartoonization" / "testwb" / "testwb.pth"
    assert "licence: test licence" in capsys.readouterr().out
    G = torch.load(path, weights_only=True)["G"]
    assert G["conv0.weight"].shape == (32, 3, 7, 7)
    httpd.shutdown()  # offline from now on: the cache must do
    assert resolve_model("testwb") == path
    assert not list(path.parent.glob("*.part"))


def test_test_py_cartoonises_with_a_named_model(server, registry, whitebox_folder, tmp_path):
    registry["testwb"] = model_at(server[2], whitebox_folder)
    import cv2
    from skimage import data
    cv2.imwrite(str(tmp_path / "photo.jpg"), data.astronaut()[:, :, ::-1])
    test_script.main(["--model", "testwb", "--input", str(tmp_path / "photo.jpg"), "--out", str(tmp_path / "o"),
                      "--device", "cpu", "--size", "128"])
    assert read_image(tmp_path / "o" / "cartoon" / "photo.png").shape == (512, 512, 3)


def test_wrong_hash_keeps_nothing(server, registry, whitebox_folder):
    registry["testwb"] = model_at(server[2], whitebox_folder, blob="0" * 40)
    with pytest.raises(UserError, match="git blob id .* expected 0000") as e:
        resolve_model("testwb")
    assert "\n" not in str(e.value)
    folder = pretrained.cache_root() / "testwb"
    assert not folder.exists() or not any(folder.iterdir())


def test_truncated_download_keeps_nothing(server, registry, whitebox_folder):
    _, handler, url = server
    handler.truncate = True
    registry["testwb"] = model_at(url, whitebox_folder)
    with pytest.raises(UserError, match=r"download interrupted \(\d+ of \d+ bytes\)") as e:
        resolve_model("testwb")  # the Content-Length check fires, before (and not as) the blob-id check
    assert f"put them in {pretrained.cache_root() / 'testwb'}" in str(e.value)
    assert not any((pretrained.cache_root() / "testwb").iterdir())


def test_server_down_names_the_urls_and_the_folder(registry, whitebox_folder, capsys):
    registry["testwb"] = model_at("http://127.0.0.1:9", whitebox_folder)  # the discard port: refused
    with pytest.raises(SystemExit) as e:
        test_script.main(["--model", "testwb", "--input", "x.jpg"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "\n" not in err
    assert "http://127.0.0.1:9/model-33999.index" in err and "facial-cartoonization/testwb" in err


def test_files_put_in_the_cache_by_hand_are_used_offline(registry, whitebox_folder):
    registry["testwb"] = model_at("http://127.0.0.1:9", whitebox_folder)
    folder = pretrained.cache_root() / "testwb"
    folder.mkdir(parents=True)
    for f in FILES:
        (folder / f).write_bytes((whitebox_folder / f).read_bytes())
    assert resolve_model("testwb").is_file()


def test_a_tf_checkpoint_folder_is_converted_once(registry, whitebox_folder):
    first = resolve_model(str(whitebox_folder))
    mtime = first.stat().st_mtime_ns
    assert resolve_model(str(whitebox_folder)) == first and first.stat().st_mtime_ns == mtime


def test_unknown_name_is_one_line(registry):
    with pytest.raises(UserError, match="nosuch: no such file, and not a model name"):
        resolve_model("nosuch")


def test_the_real_registry_pins_the_official_files():
    wb = pretrained.REGISTRY["whitebox"]
    assert wb.files["model-33999.index"][1] == "f1749e5542e83cf01a19aa1b2a3a7370a17efa41"
    assert wb.files["model-33999.data-00000-of-00001"][1] == "785cdcb8a0ab9bf44171c087878cc84863562eab"
    assert all("ee97277d7fd873b89e9b8e1341efe74e10dd4124" in url for url, _ in wb.files.values())
    assert "CC BY-NC-SA 4.0" in wb.licence


@pytest.fixture
def face_server(face_ir):
    handler = type("H", (Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(handler, directory=face_ir[1].parent))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def face_model_at(url, folder):
    files = {f: (f"{url}/{f}", git_blob_id(folder / f)) for f in ("face.xml", "face.bin")}
    return PretrainedModel("testface", files, "test face licence", "faces", "a test server", format="openvino-ir")


def test_face_model_download_verify_convert_then_reuse_offline(face_server, face_ir, registry, capsys):
    from inference.cartoonise import load_generator
    from models.face_generator import FaceGenerator

    httpd, url = face_server
    registry["testface"] = face_model_at(url, face_ir[1].parent)
    path = resolve_model("testface")
    assert "licence: test face licence" in capsys.readouterr().out
    G = load_generator(path, "cpu")
    assert isinstance(G, FaceGenerator)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(G(x), face_ir[0](x), atol=1e-5)
    httpd.shutdown()  # offline: the cache must do
    assert resolve_model("testface") == path


def test_a_cached_file_that_is_not_the_published_one_is_refused(face_server, face_ir, registry):
    registry["testface"] = face_model_at(face_server[1], face_ir[1].parent)
    folder = pretrained.cache_root() / "testface"
    folder.mkdir(parents=True)
    (folder / "face.xml").write_bytes(face_ir[1].read_bytes())
    (folder / "face.bin").write_bytes(face_ir[1].with_suffix(".bin").read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(UserError, match=r"face.bin: not the published file \(git blob id differs") as e:
        resolve_model("testface")
    assert "\n" not in str(e.value)
    assert not (folder / "testface.pth").exists()


def test_the_authors_weight_pth_works_as_the_model(face_ir, registry, tmp_path):
    """A bare state dict with the author's key names (``module.`` prefix too) is converted once and cached."""
    from inference.cartoonise import load_generator
    from models.face_generator import FaceGenerator

    G = face_ir[0]
    weight = tmp_path / "weight.pth"
    torch.save({f"module.{k}": v for k, v in FaceGenerator().state_dict().items()}, weight)
    path = resolve_model(str(weight))
    assert isinstance(load_generator(path, "cpu"), FaceGenerator)
    assert resolve_model(str(weight)) == path  # converted once
    bad = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="does not match this architecture") as e:
        resolve_model(str(bad))
    assert "\n" not in str(e.value) and G is not None


def test_the_real_registry_pins_the_face_model():
    face = pretrained.REGISTRY["facial"]
    assert face.files["facial_cartoonization_256x256.xml"][1] == "70239db1409f1781dc2e4578264e74d02eb7a07d"
    assert face.files["facial_cartoonization_256x256.bin"][1] == "906fef8dc1c30f9f79cf573cfc926a0e6dde4322"
    assert all("003b39d6ed1159ec9cdf0bcbf86f02424bde46d0" in url for url, _ in face.files.values())
    assert "CC BY-NC-SA 4.0" in face.licence and face.format == "openvino-ir"


def test_a_bundled_model_is_checked_by_its_blob_id(registry, trained_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "REPO", tmp_path)
    (tmp_path / "models").mkdir()
    shipped = tmp_path / "models" / "m.pth"
    shipped.write_bytes(trained_checkpoint.read_bytes())
    registry["shipped"] = PretrainedModel("shipped", {"m.pth": ("models/m.pth", git_blob_id(shipped))}, "lic",
                                          "x", "this repository", format="bundled")
    assert resolve_model("shipped") == shipped
    data = shipped.read_bytes()
    shipped.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one byte changed
    with pytest.raises(UserError, match=r"m.pth: not the shipped file \(git blob id differs"):
        resolve_model("shipped")
    shipped.unlink()
    with pytest.raises(UserError, match="the model file shipped with this repository is missing"):
        resolve_model("shipped")


@pytest.mark.parametrize("name, channel", [("facial_landmarks", 32), ("facial_live", 16)])
def test_the_shipped_face_models_are_in_the_repository_and_load(name, channel):
    from inference.cartoonise import load_generator
    from models.face_generator import FaceGenerator

    path = resolve_model(name)  # blob id checked: the file git tracks
    G = load_generator(path, "cpu")
    assert path.stat().st_size < 3_000_000 and isinstance(G, FaceGenerator) and G.arch()["channel"] == channel
    assert "CC BY-NC-SA 4.0" in pretrained.REGISTRY[name].licence and "derivative" in pretrained.REGISTRY[name].licence


def test_the_real_time_model_is_a_quarter_of_its_teachers_flops_and_draws_near_it():
    """facial_live at most a third of facial_landmarks' FLOPs at 256² (the live-page bound), and its cartoon of a
    real face within 25 dB PSNR of the teacher's (31.8 dB on the held-out selfies; an untrained or mismatched
    student scores about 12)."""
    import numpy as np
    from skimage import data

    from inference.cartoonise import Cartooniser, load_generator
    from studies.live_model import gflop_256, psnr

    teacher, student = (load_generator(resolve_model(n), "cpu") for n in ("facial_landmarks", "facial_live"))
    assert gflop_256(student) <= gflop_256(teacher) / 3
    face = np.ascontiguousarray(data.astronaut()[30:286, 120:376])
    drawn = [Cartooniser(G, torch.device("cpu"), 256)([face])[0] for G in (teacher, student)]
    assert psnr(*drawn) > 25


def test_the_folder_the_offline_message_names_works_as_the_model(face_ir, registry, tmp_path, capsys):
    """Offline, the message says "pass the folder holding them as the model": a folder of the face model's IR
    (.xml + .bin) works as --model, as a TF checkpoint folder does."""
    from inference.cartoonise import load_generator
    from models.face_generator import FaceGenerator

    registry["testface"] = face_model_at("http://127.0.0.1:9", face_ir[1].parent)  # the discard port: refused
    with pytest.raises(UserError, match="pass the folder holding them as the model"):
        resolve_model("testface")
    folder = tmp_path / "by_hand"
    folder.mkdir()
    for name in ("face.xml", "face.bin"):
        (folder / name).write_bytes((face_ir[1].parent / name).read_bytes())
    G = load_generator(resolve_model(str(folder)), "cpu")
    assert isinstance(G, FaceGenerator)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(G(x), face_ir[0](x), atol=1e-5)
    (folder / "other.xml").write_bytes(b"<net/>")
    with pytest.raises(UserError, match="holds 2 .xml files"):
        resolve_model(str(folder))


def test_model_name_labels_a_folder_of_a_registered_model_by_its_name(whitebox_folder, tmp_path):
    from models.released.pretrained import model_name

    assert model_name("facial") == "facial"
    assert model_name(str(whitebox_folder)) == "whitebox"  # the folder holds model-33999.index and .data
    assert model_name(str(whitebox_folder / "model-33999.index")) == "whitebox"
    assert model_name(str(tmp_path / "gen3_batch_300.pth")) == "gen3_batch_300"
    assert model_name(str(tmp_path)) == tmp_path.name
