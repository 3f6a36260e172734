"""Helpers of the live-page tests: a .y4m file for Chromium's fake camera, the page's canvases read back."""
import base64

import cv2
import numpy as np


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
