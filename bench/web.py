"""The live page's speed:  python -m bench.web [--models facial_landmarks ...] [--sizes 256 512] [--runs 20]

For each model at each size, in Debian's headless Chromium (WASM with 1 and 2 threads; WebGPU where the browser
has an adapter): the model alone (web/bench.html: the page's own modules timing session.run on a fixed frame) and
the whole loop with 2 threads, face framing on and off (web/index.html with a fake camera whose face drifts
sideways: camera frame -> face detector -> canvas -> model -> drawn cartoon, read off the page's frame-rate
meter); then native ONNX Runtime (1 and 2 threads) on the same .onnx file and
torch (fp32, and bf16 + channels_last where the CPU has native bf16) on the same generator, for the ratios.
Prints a table and writes bench/results/web-{date}T{time}.json. Needs chromium and chromedriver.
"""
import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def page_server(models, sizes):
    proc = subprocess.Popen([sys.executable, "-m", "web", "--port", "0", "--models", *models, "--sizes",
                             *map(str, sizes)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while True:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            sys.exit("python -m web failed")
        if line.startswith("serving the live page at "):
            return proc, line.split(" at ")[1].split()[0]


def read(driver, element_id):
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")


def model_alone(driver, url, size, threads, runs, backend="wasm", model="facial_landmarks"):
    driver.get(f"{url}bench.html?model={model}&size={size}&threads={threads}&runs={runs}&backend={backend}")
    t0 = time.time()
    while not read(driver, "result") and not read(driver, "status") and time.time() - t0 < 600:
        time.sleep(0.2)
    if read(driver, "status"):
        return None, read(driver, "status")
    result = json.loads(read(driver, "result"))
    return float(np.median(result["ms"])), result["backend"]


def whole_loop(url, y4m, size, threads, seconds=8.0, model="facial_landmarks", framing=True):
    from web.headless import chromium, fake_camera

    driver = chromium(*fake_camera(y4m))
    try:
        driver.get(f"{url}?camera=1&model={model}&size={size}&threads={threads}&backend=wasm"
                   f"&framing={int(framing)}")
        t0 = time.time()
        while float(read(driver, "fps") or 0) == 0 and time.time() - t0 < 300:
            time.sleep(0.2)
        time.sleep(seconds)  # the meter averages over the last 3 s
        fps = float(read(driver, "fps"))
        return 1000 / fps if fps else None, read(driver, "backend")
    finally:
        driver.quit()


def native(size, runs, model="facial_landmarks"):
    import onnxruntime as ort
    import torch

    from inference.cartoonise import load_generator
    from models.released.pretrained import resolve_model
    from utils.runtime import Precision, native_bf16_cpu

    rows = {}
    frame = {"rgba": np.random.default_rng(0).integers(0, 256, (1, size, size, 4), dtype=np.uint8),
             "strength": np.ones(1, np.float32)}
    for threads in (1, 2):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(REPO / "web" / "models" / f"{Path(model).stem}_{size}.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        rows[f"onnxruntime {threads} thread(s)"] = timed(lambda: session.run(None, frame), runs)
    G = load_generator(resolve_model(model), "cpu")
    x = torch.rand(1, 3, size, size) * 2 - 1
    settings = [("fp32", False)] + ([("bf16", True)] if native_bf16_cpu() else [])
    for precision, layout in settings:
        p = Precision("cpu", precision, layout)
        model, inp = p.layout(G), p.layout(x)
        with torch.inference_mode(), p.autocast():
            rows[f"torch {precision}{' + channels_last' if layout else ''}"] = timed(lambda: model(inp), runs)
    return rows


def drifting_face(photo: np.ndarray, n: int = 60) -> list[np.ndarray]:
    """640×480 frames, the face of ``photo`` (the astronaut) about 40 % of the height, off-centre, drifting sideways:
    what the framing follows."""
    import cv2

    face = cv2.resize(photo[40:220, 130:310], (384, 384))
    frames = []
    for i in range(n):
        frame = np.full((480, 640, 3), 110, np.uint8)
        x = 20 + int(2.5 * i)
        frame[48:432, x:x + 384] = face
        frames.append(frame)
    return frames


def timed(fn, runs):
    fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return float(np.median(ms))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["facial_landmarks"], help="names the page offers")
    p.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--out", default="bench/results")
    opts = p.parse_args(argv)
    from utils.image_io import skimage_photo
    from utils.runtime import cpu_name
    from web.headless import chromium, write_y4m

    proc, url = page_server(opts.models, opts.sizes)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            y4m = write_y4m(Path(tmp) / "camera.y4m", drifting_face(skimage_photo("astronaut")))
            driver = chromium()
            try:
                adapter = driver.execute_script(
                    "return navigator.gpu ? navigator.gpu.requestAdapter().then(a => !!a) : false")
                gpu = model_alone(driver, url, opts.sizes[0], 1, opts.runs, "auto") if adapter else (None, None)
                for model in opts.models:
                    for size in opts.sizes:
                        for threads in (1, 2):
                            ms, backend = model_alone(driver, url, size, threads, opts.runs, model=model)
                            rows.append({"model": model, "size": size, "what": f"browser model alone ({backend})",
                                         "ms": ms})
            finally:
                driver.quit()
            for model in opts.models:
                for size in opts.sizes:
                    for framing in (True, False):
                        ms, backend = whole_loop(url, y4m, size, 2, model=model, framing=framing)
                        what = f"browser whole loop, fake camera, framing {'on' if framing else 'off'} ({backend})"
                        rows.append({"model": model, "size": size, "what": what, "ms": ms})
                    rows += [{"model": model, "size": size, "what": name, "ms": ms}
                             for name, ms in native(size, opts.runs, model).items()]
    finally:
        proc.terminate()
    cpu = cpu_name()
    print(f"machine: {cpu}; WebGPU: {'adapter: ' + str(gpu) if adapter else 'no adapter'}")
    print("| model | size | what | ms per frame | frames/s |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        ms, cells = r["ms"], f"| {r['model']} | {r['size']}² | {r['what']} |"
        print(f"{cells} {ms:.1f} | {1000 / ms:.1f} |" if ms else f"{cells} failed | |")
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    out = Path(opts.out) / f"web-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": cpu, "webgpu": "adapter" if adapter else "no adapter", "rows": rows},
                              indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
