"""The web demo, started as a subprocess on a free 127.0.0.1 port with a tiny checkpoint (no download): through
its API with gradio_client, and in a real browser (Debian's headless Chromium driven by selenium)."""
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from bench.app_load import free_port
from tests.browser import chromium
from utils.image_io import read_image

gradio_client = pytest.importorskip("gradio_client", reason="gradio is not installed (pip install -r requirements.txt)")
REPO = Path(__file__).resolve().parents[2]
# a tiny random generator; TEST_APP_CHECKPOINT=PATH runs the same tests on another (the README's screenshot was
# taken by test_in_a_real_browser... with the released model and TEST_APP_SCREENSHOT=docs/app.png)
CHECKPOINT = Path(os.environ.get("TEST_APP_CHECKPOINT", REPO / "tests" / "fixtures" / "gen7_batch_1.pth"))


@pytest.fixture(scope="module")
def app(tmp_path_factory, face_checkpoint):
    """The app with CHECKPOINT first and the face model (a converted test IR) offered from --save_dir."""
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "log.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--checkpoint", str(CHECKPOINT), "--port",
                                 str(port), "--device", "cpu", "--save_dir", str(face_checkpoint.parent)],
                                cwd=REPO, env=env, stdout=out, stderr=out)
    url, t0 = f"http://127.0.0.1:{port}/", time.time()
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.time() - t0 < 120, "the app did not start in 2 minutes"
            time.sleep(0.5)
    print(f"app answered {time.time() - t0:.1f} s after start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def call(client, path, faces=True, strength=1.0, size=256, model=CHECKPOINT):
    return client.predict(gradio_client.handle_file(str(path)), str(model), faces, strength, size,
                          api_name="/cartoonise")


def test_api_returns_the_cartoon_at_the_photo_size(app, astronaut):
    client = gradio_client.Client(app, verbose=False)
    before, after, download, info = call(client, astronaut)
    photo, cartoon = read_image(before), read_image(after)
    assert cartoon.shape == photo.shape == (512, 512, 3)
    assert np.array_equal(read_image(download), cartoon)
    assert np.abs(cartoon.astype(int) - photo).mean() > 3 and "1 face cartoonised from aligned crops" in info
    _, same, _, _ = call(client, astronaut, faces=False, strength=0.0)
    assert np.array_equal(read_image(same), photo)  # strength 0: the photo back


def test_the_face_model_runs_in_the_app(app, astronaut, face_checkpoint):
    client = gradio_client.Client(app, verbose=False)
    before, after, _, info = call(client, astronaut, model=face_checkpoint)
    photo, cartoon = read_image(before), read_image(after)
    assert cartoon.shape == photo.shape == (512, 512, 3) and "1 face cartoonised from aligned crops" in info
    _, whitebox, _, _ = call(client, astronaut)
    assert np.abs(cartoon.astype(int) - read_image(whitebox)).mean() > 3  # another model, another cartoon


def test_bad_upload_is_a_message_and_the_server_keeps_answering(app, astronaut, tmp_path):
    client = gradio_client.Client(app, verbose=False)
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="cannot identify image file .*broken.png"):  # Gradio's own decoding
        call(client, bad)
    assert read_image(call(client, astronaut, faces=False)[1]).shape == (512, 512, 3)


def test_huge_upload_is_shrunk_not_fatal(app, tmp_path):
    client = gradio_client.Client(app, verbose=False)
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.full((4500, 9000, 3), 128, np.uint8))  # 40 megapixels
    _, after, _, info = call(client, big, faces=False)
    assert read_image(after).shape == (2048, 4096, 3) and "shrunk from 9000×4500 to 4096×2048" in info


def test_pixel_bomb_upload_is_refused_in_the_users_words(app, astronaut, tmp_path):
    """Gradio reads only the header (a file path, no image mode); the app's limit answers, not Pillow's generic
    refusal ("Could not preprocess input component")."""
    from gradio_client.exceptions import AppError

    from tests.pixel_bombs import png_bomb

    client = gradio_client.Client(app, verbose=False)
    with pytest.raises(AppError, match="This image is too large: 30,000 × 30,000 pixels. Photos up to 50 megapixels"):
        call(client, png_bomb(tmp_path / "bomb.png"))
    assert read_image(call(client, astronaut, faces=False)[1]).shape == (512, 512, 3)


def test_sixteen_requests_at_once_are_answered_in_order_or_told_the_queue_is_full(app, astronaut):
    """bench.app_load's load, on the test model: nothing fails in another way, the queue is first come first
    served, and the server answers afterwards."""
    from bench.app_load import fire, summary

    records = fire(app, [astronaut], str(CHECKPOINT), 16)
    s = summary(records)
    print(s)
    assert {r["outcome"] for r in records} <= {"answered", "Queue is full! Please try again."}, records
    assert s["answered"] >= 9 and s["in_order"]  # the one running and the 8 the queue holds, at least
    assert fire(app, [astronaut], str(CHECKPOINT), 1)[0]["outcome"] == "answered"


def test_in_a_real_browser_upload_click_and_see_the_cartoon(app, astronaut, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    try:
        driver.get(app)
        wait = WebDriverWait(driver, 90)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#photo input[type=file]")))
        driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(astronaut))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#photo img")))
        driver.find_element(By.CSS_SELECTOR, "#go").click()
        img = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#after img")))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#info textarea").get_attribute("value"))
        shown = np.frombuffer(urllib.request.urlopen(img.get_attribute("src")).read(), np.uint8)
        cartoon = cv2.cvtColor(cv2.imdecode(shown, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert cartoon.shape == (512, 512, 3)
        assert np.abs(cartoon.astype(int) - data.astronaut()).mean() > 3  # shown, and not the photo
        assert driver.save_screenshot(str(tmp_path / "app.png"))
        print(f"screenshot: {tmp_path / 'app.png'}")
        if os.environ.get("TEST_APP_SCREENSHOT"):
            shutil.copy(tmp_path / "app.png", os.environ["TEST_APP_SCREENSHOT"])
    finally:
        driver.quit()
