"""Short test clips written with PyAV: frames from real photos, an optional tone on an AAC track, an optional
display rotation (a phone's portrait video) and irregular frame times (a variable frame rate)."""
from fractions import Fraction

import numpy as np


def write_clip(path, frames: list[np.ndarray], fps: int = 10, tone_hz: float | None = 440.0,
               rotation: int = 0, frame_times: list[float] | None = None, pix_fmt: str = "yuv420p"):
    """frames: RGB uint8 (H, W, 3), even sizes for yuv420p (yuv444p takes odd ones). frame_times: seconds of each
    frame (default i / fps)."""
    import av

    h, w = frames[0].shape[:2]
    times = frame_times or [i / fps for i in range(len(frames))]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        v.time_base = Fraction(1, 1000)
        v.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=48000) if tone_hz else None
        if a is not None:
            a.layout = "mono"
        for rgb, t in zip(frames, times):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            duration = times[-1] + 1 / fps
            samples = (0.3 * np.sin(2 * np.pi * tone_hz * np.arange(round(48000 * duration)) / 48000))
            samples = samples.astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = samples[start:start + 1024][None]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in a.encode(frame):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def probe(path) -> dict:
    """Codec, pixel format, size, frame times (s), rotation and audio of a file, read back with PyAV."""
    import av

    with av.open(str(path)) as f:
        v = f.streams.video[0]
        times, rotation = [], 0
        for frame in f.decode(v):
            times.append(float(frame.pts * frame.time_base))
            rotation = frame.rotation
        info = {"codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt, "size": (v.height, v.width),
                "times": times, "rotation": rotation, "audio": None}
    with av.open(str(path)) as f:
        if f.streams.audio:
            a = f.streams.audio[0]
            samples = np.concatenate([fr.to_ndarray().reshape(-1) for fr in f.decode(a)])
            info["audio"] = {"codec": a.codec_context.name, "rate": a.rate, "samples": samples,
                             "seconds": len(samples) / a.rate}
    return info
