"""Cartoonise a video with PyAV (FFmpeg's libraries): H.264 (yuv420p) in MP4, which browsers play, with the input's
audio copied through unchanged.

    cartoonise_video(Path("clip.mp4"), Path("results/x"), cartoonise)   # -> results/x/clip_cartoon.mp4

- Every frame keeps its own timestamp, so a variable frame rate stays as it was.
- A phone video's rotation (its display matrix) is applied to the frames, so the cartoon is upright and carries no
  rotation of its own.
- H.264 in yuv420p needs an even width and height: an odd last row or column is dropped.
- ``cartoonise`` takes a list of RGB frames (``batch_size`` at a time) and returns their cartoons; a
  FaceCartooniser with a FaceTrack follows each face from frame to frame (utils.faces.track).
"""
from collections import Counter
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from inference.files import cartoon_video_path
from utils.errors import UserError
from utils.image_io import MAX_PIXELS, megapixels
from utils.progress import progress

CRF = 18  # x264's constant quality: visually lossless for cartoons; 23 is x264's default


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as it should be shown: ``rotation`` is the display matrix's angle, counter-clockwise degrees."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def cartoonise_video(path: Path, out_dir: Path, cartoonise, max_pixels: int = MAX_PIXELS, crf: int = CRF,
                     write=print) -> Path:
    """Cartoonise every frame of ``path`` into {out_dir}/{stem}_cartoon.mp4. A frame size over ``max_pixels``
    (read from the stream's header, before any frame is decoded) is refused in one line. Damaged packets are
    skipped and counted (``write`` says how many), a read error ends the video there; a frame of another size than
    the first is resized to it."""
    import av  # here: only videos need it

    out = cartoon_video_path(path, out_dir)
    try:
        source = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:  # ValueError: undecodable metadata text
        raise UserError(f"{path}: cannot open video ({e})") from None
    damaged = Counter()
    with source:
        if not source.streams.video:
            raise UserError(f"{path}: holds no video stream")
        video = source.streams.video[0]
        if video.codec_context is None:
            raise UserError(f"{path}: its video stream has no decoder here (an unknown or damaged codec)")
        w, h = video.codec_context.width, video.codec_context.height
        if w * h > max_pixels:
            raise UserError(f"{path}: frames of {w}×{h} pixels ({megapixels(w * h)} megapixels) are over the limit "
                            f"of {megapixels(max_pixels)} megapixels (--max_megapixels)")
        audio = source.streams.audio[0] if source.streams.audio else None
        if audio is not None and audio.codec_context is None:  # nothing to copy it with
            audio, damaged["audio stream (dropped)"] = None, 1
        video.thread_type = "AUTO"
        total = video.frames or None
        h, w = first_frame_shape(path, max_pixels)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.part.mp4")
        try:
            with av.open(str(tmp), "w") as sink:
                writer = FrameWriter(sink, video, h, w, crf)  # every stream before the first packet is written
                copy = sink.add_stream_from_template(audio) if audio is not None else None
                with progress(total=total, desc=Path(path).name, unit="frame") as bar:
                    pending = []
                    for packet in packets(source, [s for s in (video, audio) if s is not None], damaged):
                        if packet.stream is audio:
                            if packet.dts is not None:  # the demuxer's empty flush packet has none
                                packet.stream = copy
                                try:
                                    sink.mux(packet)
                                except (av.error.FFmpegError, ValueError):  # e.g. a damaged, non-monotonic dts
                                    damaged["audio packet"] += 1
                            continue
                        for frame in frames(packet, damaged, max_pixels):
                            pts = frame.pts if frame.pts is not None else writer.guess_pts(len(pending))
                            rgb = upright(frame.to_ndarray(format="rgb24"), frame.rotation)
                            if rgb.shape[:2] != (h, w):
                                rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                            pending.append((rgb, pts, frame.time_base or video.time_base))
                            if len(pending) == cartoonise.batch_size:
                                bar.update(writer.write(pending, cartoonise))
                                pending = []
                    if pending:
                        bar.update(writer.write(pending, cartoonise))
                writer.close()
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    if writer.frames == 0:
        out.unlink(missing_ok=True)
        raise UserError(f"{path}: no frame could be decoded")
    if damaged:
        write(f"warning: {path}: damaged, skipped " + ", ".join(f"{n} {what}(s)" for what, n in damaged.items()))
    return out


def packets(source, streams, damaged: Counter):
    """The demuxed packets of ``streams``; a read error ends the file there, counted in ``damaged``."""
    import av

    demuxed = source.demux(*streams)
    while True:
        try:
            yield next(demuxed)
        except StopIteration:
            return
        except av.error.FFmpegError:
            damaged["unreadable end"] += 1
            return


def frames(packet, damaged: Counter, max_pixels: int) -> list:
    """The frames decoded from one packet: none from a damaged packet (counted), none over the pixel limit."""
    import av

    try:
        decoded = packet.decode()
    except (av.error.FFmpegError, ValueError):
        damaged["video packet"] += 1
        return []
    kept = [f for f in decoded if f.width * f.height <= max_pixels]
    if len(kept) < len(decoded):
        damaged["frame over the pixel limit"] += len(decoded) - len(kept)
    return kept


def first_frame_shape(path, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(height, width) of the first frame, upright: the output's size must be known before anything is written."""
    import av

    with av.open(str(path)) as f:
        for packet in packets(f, [f.streams.video[0]], Counter()):
            for frame in frames(packet, Counter(), max_pixels):
                return upright(np.zeros((frame.height, frame.width, 1), np.uint8), frame.rotation).shape[:2]
    raise UserError(f"{path}: no frame could be decoded")


class FrameWriter:
    """The H.264 stream of the output, (h, w) cut to even sides; frames encoded with their source timestamps."""

    def __init__(self, sink, source_stream, h: int, w: int, crf: int):
        self.sink, self.source = sink, source_stream
        rate = source_stream.average_rate or source_stream.guessed_rate or Fraction(25)
        self.stream = sink.add_stream("libx264", rate=rate, options={"crf": str(crf)})
        self.stream.width, self.stream.height, self.stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        self.stream.time_base = self.stream.codec_context.time_base = source_stream.time_base
        self.frames = 0

    def guess_pts(self, queued: int) -> int:
        """A timestamp for a frame that has none (some raw streams): its index at the stream's frame rate."""
        rate = self.source.average_rate or self.source.guessed_rate or Fraction(25)
        return round((self.frames + queued) / rate / self.source.time_base)

    def write(self, pending: list, cartoonise) -> int:
        """Cartoonise and encode a batch of (frame, pts, time_base); returns how many."""
        import av

        cartoons = cartoonise([rgb for rgb, _, _ in pending])
        for cartoon, (_, pts, time_base) in zip(cartoons, pending):
            even = np.ascontiguousarray(cartoon[: self.stream.height, : self.stream.width])
            frame = av.VideoFrame.from_ndarray(even, format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            for packet in self.stream.encode(frame):
                self.sink.mux(packet)
            self.frames += 1
        return len(pending)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.sink.mux(packet)
