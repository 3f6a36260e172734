"""A face video through test.py:  python -m bench.video [--models facial_live facial_landmarks] [--frames 90]

A 1280×720, 30 frames/s H.264 clip of scikit-image's astronaut, her face about 40 % of the frame's height and
drifting sideways, is cartoonised by ``test.py --model M --input clip.mp4 --align`` (the whole frame, then the face
followed and cartoonised from its aligned crop, blended back) for each model. Frames per second are marginal: the
time of a clip of --frames frames less that of a clip of a third as many, over the frames between, so loading the
models and dlib (and starting Python) is not counted. Prints a table and writes bench/results/video-{date}T{time}.json.
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


def face_clip(path: Path, frames: int, size=(1280, 720)) -> Path:
    """``frames`` frames of the astronaut's face, 288 px high in a grey 1280×720 frame, 4 px further right each."""
    import av
    import cv2
    from skimage import data

    face = cv2.resize(data.astronaut()[20:240, 110:330], (288, 288))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(frames):
            frame = np.full((size[1], size[0], 3), 110, np.uint8)
            x = 200 + 4 * i
            frame[216:504, x:x + 288] = face
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def seconds(model: str, clip: Path, out: Path) -> float:
    """Wall-clock seconds of test.py on ``clip``, run as a user runs it."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "test.py"), "--model", model, "--input", str(clip), "--align",
                    "--out", str(out)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["facial_live", "facial_landmarks"])
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--out", default="bench/results")
    opts = p.parse_args(argv)
    from utils.runtime import cpu_name

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        short, long = (face_clip(Path(tmp) / f"clip{n}.mp4", n) for n in (opts.frames // 3, opts.frames))
        for model in opts.models:
            times = {n: seconds(model, clip, Path(tmp) / f"{model}_{n}")
                     for n, clip in ((opts.frames // 3, short), (opts.frames, long))}
            (a, ta), (b, tb) = sorted(times.items())
            rows.append({"model": model, "frames": b, "seconds": tb, "frames_per_s": (b - a) / (tb - ta)})
    cpu = cpu_name()
    print(f"machine: {cpu}\n| model | 720p frames/s (test.py --align, marginal) | {opts.frames} frames in |")
    print("| --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['frames_per_s']:.1f} | {r['seconds']:.1f} s |")
    out = Path(opts.out) / f"video-{datetime.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
