"""The live page in Debian's headless Chromium: `python -m web` serves it (ONNX Runtime Web from npm, the shipped
face model exported at 256²); a still photo gives ONNX Runtime's own cartoon, the fake camera gives live cartoons,
and each bad input is a one-line message in #status on a page that keeps working."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from bench.web import drifting_face
from tests.browser import StaticServer, chromium
from utils.image_io import write_image
from web.headless import canvas, fake_camera, text, write_y4m

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
ISOLATED = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


@pytest.fixture(scope="module")
def server():
    """`python -m web` on a free port: npm ci and the export when missing, then the page with COOP/COEP."""
    if shutil.which("npm") is None and not (WEB / "ort").is_dir():
        pytest.skip("npm is not installed")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "web", "--port", "0", "--models", "facial_landmarks", "facial_live",
                             "--sizes", "256"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    while True:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, "".join(lines)
        lines.append(line)
        if line.startswith("serving the live page at "):
            break
    yield line.split(" at ")[1].split()[0]
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def aligned_astronaut(tmp_path_factory) -> Path:
    from utils.faces.align import align_face
    from utils.faces.landmarks import FaceLandmarks

    image = data.astronaut()
    crop, _ = align_face(image, FaceLandmarks()(image), 256)
    return write_image(tmp_path_factory.mktemp("photo") / "astronaut.png", crop)


def wait_for(driver, condition, timeout=120, what="the page"):
    t0 = time.time()
    while not condition():
        assert time.time() - t0 < timeout, f"{what}: timed out; status: {text(driver, 'status')!r}"
        time.sleep(0.1)


def ready(driver):
    wait_for(driver, lambda: text(driver, "backend") not in ("", "starting…"), what="the backend")


def test_a_still_photo_gives_onnx_runtimes_own_cartoon(server, aligned_astronaut):
    import onnxruntime as ort

    driver = chromium()
    try:
        driver.get(f"{server}?model=facial_landmarks&size=256&framing=0")  # the photo's own square, unframed
        ready(driver)
        assert text(driver, "backend") == "wasm, 2 threads" or text(driver, "backend").startswith(("wasm", "webgpu"))
        driver.find_element("id", "photo").send_keys(str(aligned_astronaut))
        wait_for(driver, lambda: not driver.find_element("id", "download").get_property("disabled"), what="the cartoon")
        shown = canvas(driver, "cartoon")
        fed = canvas(driver, "input")
    finally:
        driver.quit()
    photo = cv2.cvtColor(cv2.imread(str(aligned_astronaut)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(fed, photo)  # the page fed the model the photo's own pixels
    session = ort.InferenceSession(str(WEB / "models" / "facial_landmarks_256.onnx"),
                                   providers=["CPUExecutionProvider"])
    rgba = np.concatenate([photo, np.full((256, 256, 1), 255, np.uint8)], -1)[None]
    want = session.run(None, {"rgba": rgba, "strength": np.ones(1, np.float32)})[0][0, ..., :3]
    assert np.abs(shown.astype(int) - want).max() <= 2
    assert np.abs(shown.astype(int) - photo).mean() > 5  # a cartoon, not the photo


def photo_cartoon(driver, url, photo) -> np.ndarray:
    driver.get(url)
    ready(driver)
    driver.find_element("id", "photo").send_keys(str(photo))
    wait_for(driver, lambda: not driver.find_element("id", "download").get_property("disabled"), timeout=240,
             what="the cartoon")
    return canvas(driver, "cartoon")


def test_a_software_webgpu_adapter_is_refused_and_the_webgpu_path_draws_onnx_runtimes_cartoon(server,
                                                                                             aligned_astronaut):
    """SwiftShader (Chromium's software WebGPU): not chosen, the page says why; forced with ?backend=webgpu it
    runs the WebGPU path, whose cartoon is the WASM path's (the real-time model at 256²: a small graph, seconds per
    frame on a software adapter; correctness only, never a timing)."""
    query = "model=facial_live&size=256&framing=0"
    driver = chromium(software_webgpu=True)
    try:
        driver.get(f"{server}?{query}")
        ready(driver)
        refused = text(driver, "backend"), text(driver, "why")
        on_gpu = photo_cartoon(driver, f"{server}?{query}&backend=webgpu", aligned_astronaut)
        gpu_backend = text(driver, "backend")
        on_wasm = photo_cartoon(driver, f"{server}?{query}&backend=wasm", aligned_astronaut)
    finally:
        driver.quit()
    assert refused[0].startswith("wasm") and "software" in refused[1]
    assert gpu_backend == "webgpu"
    assert np.abs(on_gpu.astype(int) - on_wasm).mean() < 1.5 and on_gpu.std() > 10


def test_the_fake_camera_is_cartoonised_live(server, aligned_astronaut, tmp_path):
    photo = cv2.cvtColor(cv2.imread(str(aligned_astronaut)), cv2.COLOR_BGR2RGB)
    frames = [np.roll(cv2.resize(photo, (320, 240)), 2 * i, axis=1) for i in range(30)]
    y4m = write_y4m(tmp_path / "camera.y4m", frames)
    driver = chromium(*fake_camera(y4m), window="1100,740")
    try:
        driver.get(f"{server}?camera=1&model=facial_landmarks&size=256")
        ready(driver)
        wait_for(driver, lambda: float(text(driver, "fps") or 0) > 0, what="the frame rate")
        time.sleep(4)  # several seconds of frames for the meter
        fps = float(text(driver, "fps"))
        seen = [(canvas(driver, "input"), canvas(driver, "cartoon")) for _ in range(3)]
        if os.environ.get("TEST_WEB_SCREENSHOT"):
            driver.save_screenshot(os.environ["TEST_WEB_SCREENSHOT"])
        status = text(driver, "status")
    finally:
        driver.quit()
    print(f"live page: {fps} frames/s")
    assert fps > 0 and status == ""
    for frame, cartoon in seen:
        assert cartoon.std() > 10  # not blank
        assert np.abs(cartoon.astype(int) - frame).mean() > 5  # not the input frame


def dlib_face_side(rgb: np.ndarray) -> int:
    from utils.faces.landmarks import FaceLandmarks

    found = FaceLandmarks().faces(rgb)
    return found[0][1].width() if found else 0


def test_the_camera_frames_the_face_as_align_does_and_follows_it(server, tmp_path):
    """The fake camera of the issue, with the camera's default model (the real-time one): the #input canvas shows
    the face filling it as an aligned crop does (dlib's box at least 45 % of its side), the cartoon is drawn, and
    the frame rate is reported (not asserted here: bench.web measures it on a quiet machine)."""
    y4m = write_y4m(tmp_path / "camera.y4m", drifting_face(data.astronaut()))
    driver = chromium(*fake_camera(y4m), window="1100,740")
    try:
        driver.get(f"{server}?camera=1&size=256")
        ready(driver)
        wait_for(driver, lambda: float(text(driver, "fps") or 0) > 0, what="the frame rate")
        time.sleep(4)
        fps, status, model = float(text(driver, "fps")), text(driver, "status"), selected_model(driver)
        seen = [(canvas(driver, "input"), canvas(driver, "cartoon")) for _ in range(3)]
    finally:
        driver.quit()
    print(f"live page, {model}, framing on: {fps} frames/s")
    assert status == "" and model == "facial_live"
    for frame, cartoon in seen:
        assert dlib_face_side(frame) >= 0.45 * 256  # the centre square would give about 190 / 480 of it
        assert cartoon.std() > 10 and np.abs(cartoon.astype(int) - frame).mean() > 5


def selected_model(driver) -> str:
    return driver.execute_script("return document.getElementById('model').value")


def test_the_camera_defaults_to_the_real_time_model_a_photo_to_the_best_and_a_choice_is_kept(server, tmp_path,
                                                                                           aligned_astronaut):
    y4m = write_y4m(tmp_path / "camera.y4m", drifting_face(data.astronaut(), n=10))
    driver = chromium(*fake_camera(y4m))
    try:
        driver.get(f"{server}?size=256")
        ready(driver)
        first = selected_model(driver)
        driver.find_element("id", "camera").click()
        wait_for(driver, lambda: float(text(driver, "fps") or 0) > 0, what="the camera")
        on_camera = selected_model(driver)
        driver.find_element("id", "photo").send_keys(str(aligned_astronaut))
        wait_for(driver, lambda: selected_model(driver) != on_camera, timeout=30, what="the photo's model")
        on_photo = selected_model(driver)
        driver.get(f"{server}?camera=1&size=256&model=facial_landmarks")  # chosen: the camera keeps it
        ready(driver)
        wait_for(driver, lambda: float(text(driver, "fps") or 0) > 0, what="the camera")
        chosen = selected_model(driver)
    finally:
        driver.quit()
    assert (first, on_camera, on_photo, chosen) == ("facial_landmarks", "facial_live", "facial_landmarks",
                                                    "facial_landmarks")


def test_no_face_is_one_line_and_a_face_again_is_framed(server, tmp_path):
    still = np.full((480, 640, 3), 90, np.uint8)
    still[:, 320:] = 160
    y4m = write_y4m(tmp_path / "empty.y4m", [still] * 10)
    photo = write_image(tmp_path / "astronaut.png", data.astronaut())  # the face is a fifth of the photo
    driver = chromium(*fake_camera(y4m))
    try:
        driver.get(f"{server}?camera=1&model=facial_landmarks&size=256")
        ready(driver)
        wait_for(driver, lambda: text(driver, "status") == "no face found: the centre square is cartoonised",
                 what="the no-face line")
        driver.find_element("id", "photo").send_keys(str(photo))
        wait_for(driver, lambda: dlib_face_side(canvas(driver, "input")) > 0, what="the photo's face")
        framed, status = canvas(driver, "input"), text(driver, "status")
    finally:
        driver.quit()
    assert status == "" and dlib_face_side(framed) >= 0.45 * 256  # framing resumed, the line gone


@pytest.fixture(scope="module")
def broken_site(server, tmp_path_factory):
    """The built page with a second model whose file is damaged (served statically, COOP/COEP on)."""
    root = tmp_path_factory.mktemp("site")
    for name in ("index.html", "style.css", "js", "ort", "models"):
        src = WEB / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    (root / "models" / "broken_256.onnx").write_bytes(b"not an onnx file")
    manifest = json.loads((WEB / "models.json").read_text())
    manifest["models"].append({"name": "broken", "sizes": {"256": "models/broken_256.onnx"}, "licence": "-",
                               "about": "a damaged file"})
    manifest["unavailable"].append({"name": "whitebox", "why": "download failed (offline)"})
    (root / "models.json").write_text(json.dumps(manifest))
    return root


@pytest.mark.parametrize("case", ["not an image", "model fails to load", "no camera", "camera refused",
                                  "not available", "no threads", "detector fails to load"])
def test_each_bad_input_is_one_line_in_status_and_the_page_still_works(broken_site, aligned_astronaut, tmp_path,
                                                                       case):
    headers = {} if case == "no threads" else ISOLATED
    flags = {"no camera": ["--use-fake-ui-for-media-stream"],  # no device at all
             "camera refused": ["--use-fake-device-for-media-stream", "--deny-permission-prompts"]}
    query = {"model fails to load": "?model=broken", "no camera": "?camera=1", "camera refused": "?camera=1",
             "not available": "?model=whitebox"}.get(case, "")
    expected = {"not an image": "notes.txt: not an image", "model fails to load": "broken_256.onnx: the model "
                "could not be loaded", "no camera": "no camera was found", "camera refused": "camera permission "
                "was refused", "not available": "whitebox: not available here (download failed (offline))",
                "no threads": "WebAssembly threads are off here",
                "detector fails to load": "face_detector.onnx: the model could not be loaded"}[case]
    site = broken_site
    if case == "detector fails to load":
        site = shutil.copytree(broken_site, tmp_path / "site")
        (site / "models" / "face_detector.onnx").write_bytes(b"not an onnx file")
    driver = chromium(*flags.get(case, []))
    try:
        with StaticServer(site, headers) as url:
            driver.get(f"{url}/index.html{query}")
            ready(driver)
            if case == "not an image":
                (tmp_path / "notes.txt").write_text("hello")
                driver.find_element("id", "photo").send_keys(str(tmp_path / "notes.txt"))
            if case in ("model fails to load", "detector fails to load"):
                driver.find_element("id", "photo").send_keys(str(aligned_astronaut))
            wait_for(driver, lambda: expected in text(driver, "status"), timeout=60, what=case)
            status = text(driver, "status")
            assert "\n" not in status.strip()
            if case == "no threads":
                assert text(driver, "backend") == "wasm, 1 thread"
            # the page still works: the shipped model cartoonises a photo
            driver.execute_script("const m = document.getElementById('model'); m.value = 'facial_landmarks';"
                                  "m.dispatchEvent(new Event('change'));")
            if case not in ("model fails to load", "detector fails to load"):  # there the photo is in already
                driver.find_element("id", "photo").send_keys(str(aligned_astronaut))
            wait_for(driver, lambda: canvas(driver, "cartoon").std() > 10, timeout=60, what="a cartoon after it")
    finally:
        driver.quit()
