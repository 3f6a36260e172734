"""The demo app under load:  python -m bench.app_load [--requests 16] [--queue_size 8]

Starts app.py (the shipped face model, faces on, as a visitor uses it) on a free 127.0.0.1 port, sends N
requests of real photos (scikit-image's) at once through Gradio's API, and reports: how many were answered and how
many told that the queue is full, whether the answered ones finished in the order they were sent, requests/s,
p50/p95 latency, the server's peak memory (VmHWM), and that it still answers afterwards.

The app's limits, set on purpose (app.py): one request runs at a time (``default_concurrency_limit=1``: torch
already uses every core for one image, so two at once only split the cores and double the memory), and at most
``--queue_size`` wait; more are refused at once with Gradio's "Queue is full", never left to time out.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(*flags: str, log=None) -> tuple[subprocess.Popen, str]:
    """app.py on a free port; returns (process, url) once it answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), *flags], cwd=REPO, env=env,
                            stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url, t0 = f"http://127.0.0.1:{port}/", time.time()
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.time() - t0 > 180:
                proc.kill()
                sys.exit("app.py did not start")
            time.sleep(0.5)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fire(url: str, photos: list[Path], model: str, n: int, faces: bool = True, size: int = 512) -> list[dict]:
    """``n`` requests sent at once (photos in turn), each sent once the previous one has joined the queue, so the
    server receives them in index order; per request: its index, when it was sent and answered (s), 'answered' or
    the refusal's message."""
    import gradio_client
    from gradio_client.utils import Status

    client = gradio_client.Client(url, verbose=False)
    records, threads = [], []
    t0 = time.monotonic()
    for i in range(n):
        job = client.submit(gradio_client.handle_file(str(photos[i % len(photos)])), model, faces, 1.0, size,
                            api_name="/cartoonise")
        record = {"index": i, "sent": time.monotonic() - t0}
        records.append(record)
        while not job.done() and job.status().code in (Status.STARTING, Status.JOINING_QUEUE):
            time.sleep(0.005)

        def wait(job=job, record=record):
            try:
                job.result()
                record["outcome"] = "answered"
            except Exception as e:  # the client raises the server's refusal as its own exception types
                record["outcome"] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            record["done"] = time.monotonic() - t0

        threads.append(threading.Thread(target=wait))
        threads[-1].start()
    for t in threads:
        t.join()
    return records


def summary(records: list[dict]) -> dict:
    import numpy as np

    answered = [r for r in records if r["outcome"] == "answered"]
    latency = np.array([r["done"] - r["sent"] for r in answered])
    refused = [r for r in records if r["outcome"] != "answered"]
    span = max(r["done"] for r in answered) - min(r["sent"] for r in records) if answered else float("nan")
    return {"answered": len(answered), "refused": len(refused),
            "refusals": sorted({r["outcome"] for r in refused}),
            "in_order": sorted(answered, key=lambda r: r["done"]) == answered,
            "requests_per_s": len(answered) / span if answered else 0.0,
            "p50_s": float(np.percentile(latency, 50)) if answered else float("nan"),
            "p95_s": float(np.percentile(latency, 95)) if answered else float("nan")}


def photo_files(folder: Path) -> list[Path]:
    from utils.image_io import skimage_photo, write_image

    return [write_image(folder / f"{name}.jpg", skimage_photo(name)) for name in ("astronaut", "coffee", "chelsea")]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=16)
    p.add_argument("--queue_size", type=int, default=8)
    p.add_argument("--model", default="facial_landmarks")
    opts = p.parse_args(argv)
    from utils.runtime import cpu_name

    with tempfile.TemporaryDirectory() as tmp:
        photos = photo_files(Path(tmp))
        proc, url = start_app("--device", "cpu", "--queue_size", str(opts.queue_size))
        try:
            fire(url, photos[:1], opts.model, 1)  # the model loaded and warm, as a running server has it
            records = fire(url, photos, opts.model, opts.requests)
            after = fire(url, photos[:1], opts.model, 1)[0]["outcome"]
            s = summary(records)
            print(f"{cpu_name()}; app.py --queue_size {opts.queue_size}, model {opts.model}, faces on, 512 px cap")
            print(f"{opts.requests} requests at once: {s['answered']} answered, {s['refused']} refused "
                  f"({'; '.join(s['refusals']) or '-'}); answered in the order sent: {s['in_order']}")
            print(f"{s['requests_per_s']:.2f} requests/s, latency p50 {s['p50_s']:.1f} s, p95 {s['p95_s']:.1f} s; "
                  f"server peak memory {peak_rss_mb(proc.pid):.0f} MB; a request afterwards: {after}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
