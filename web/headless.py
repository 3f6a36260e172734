"""Debian's headless Chromium driving pages (the live page's tests and its benchmark, the app's and the video's
tests): a selenium driver, a static server on 127.0.0.1, Chromium's fake camera fed from a .y4m, and a canvas
read back losslessly."""
import base64
import functools
import http.server
import shutil
import threading

import cv2
import numpy as np

# as the machine's probe starts it: no background networking (this network is closed), a fresh profile per driver
FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")

SOFTWARE_WEBGPU = ("--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-unsafe-swiftshader")


class MissingBrowser(RuntimeError):
    """No Chromium or chromedriver on this machine (the tests skip)."""


def chromium(*extra: str, window: str = "1200,1450", software_webgpu: bool = False):
    """A selenium driver of the system Chromium (MissingBrowser where none is installed). ``software_webgpu``:
    WebGPU on SwiftShader, Chromium's software adapter (very slow: to test the page's WebGPU path, never to time
    it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        raise MissingBrowser("no system Chromium/chromedriver (apt-get install chromium chromium-driver; .ci/run "
                             "does)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    flags = [f for f in FLAGS if f != "--disable-gpu"] + list(SOFTWARE_WEBGPU) if software_webgpu else FLAGS
    for flag in (*flags, f"--window-size={window}", *extra):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


class StaticServer:
    """``with StaticServer(folder, headers) as url:`` serves ``folder`` on a free 127.0.0.1 port."""

    def __init__(self, folder, headers: dict | None = None):
        extra = dict(headers or {})

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self):
                for k, v in extra.items():
                    self.send_header(k, v)
                super().end_headers()

            def log_message(self, *_):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *_):
        self.httpd.shutdown()
        self.httpd.server_close()


def fake_camera(y4m) -> list[str]:
    """Chromium's flags for a camera that plays ``y4m`` (looped), allowed without a prompt."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]


def write_y4m(path, frames_rgb: list[np.ndarray], fps: int = 30):
    """YUV4MPEG2 (4:2:0) of RGB frames (even sides): ``--use-file-for-fake-video-capture`` plays it in a loop."""
    h, w = frames_rgb[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames_rgb:
            f.write(b"FRAME\n" + cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def canvas(driver, element_id: str) -> np.ndarray:
    """The canvas's pixels as RGB uint8, through a PNG data URL (lossless)."""
    url = driver.execute_script(f"return document.getElementById('{element_id}').toDataURL('image/png')")
    png = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def text(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")
