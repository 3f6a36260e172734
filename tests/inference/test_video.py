"""Videos: H.264 (yuv420p) in MP4 with the input's audio copied through, timestamps kept (variable frame rate),
a phone's rotation applied, and faces followed from frame to frame so that their crops do not jitter."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from inference.video import cartoonise_video

from .clips import probe, write_clip


class Negative:
    """A stand-in cartooniser: 255 − frame (far from the frame, and exact to check)."""
    batch_size = 3

    def __call__(self, frames):
        return [255 - f for f in frames]


def moving_face(n: int, step: float = 2.0, size=(240, 320)) -> list[np.ndarray]:
    """The astronaut's face sliding right by ``step`` px a frame over a gray background."""
    face = cv2.resize(data.astronaut()[20:280, 90:350], (150, 150))
    frames = []
    for i in range(n):
        frame = np.full((*size, 3), 120, np.uint8)
        M = np.float32([[1, 0, 20 + step * i], [0, 1, 45]])
        frames.append(cv2.warpAffine(face, M, size[::-1], dst=frame, borderMode=cv2.BORDER_TRANSPARENT))
    return frames


def test_frames_over_the_pixel_limit_are_refused_before_decoding(tmp_path):
    from utils.errors import UserError

    clip = write_clip(tmp_path / "clip.mp4", moving_face(3), fps=10)
    with pytest.raises(UserError, match=r"clip.mp4: frames of 320×240 pixels \(0.0768 megapixels\) are over the "
                                        r"limit of 0.0768 megapixels \(--max_megapixels\)$"):
        cartoonise_video(clip, tmp_path / "out", Negative(), max_pixels=320 * 240 - 1)
    assert not (tmp_path / "out").exists()
    assert cartoonise_video(clip, tmp_path / "out", Negative(), max_pixels=320 * 240).is_file()


def test_the_audio_track_is_copied_and_the_video_is_h264(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_face(20), fps=10)
    out = cartoonise_video(clip, tmp_path / "out", Negative())
    src, got = probe(clip), probe(out)
    assert (got["codec"], got["pix_fmt"]) == ("h264", "yuv420p")
    assert got["audio"]["codec"] == "aac" and np.array_equal(got["audio"]["samples"], src["audio"]["samples"])
    video_seconds = got["times"][-1] + 0.1
    assert abs(got["audio"]["seconds"] - video_seconds) <= 0.1  # same duration within one frame
    assert got["times"] == src["times"] and got["size"] == (240, 320)
    first = next(iter(read_rgb(out)))
    assert np.abs(first.astype(int) - (255 - moving_face(1)[0])).mean() < 4  # the cartoons, not the frames


def read_rgb(path):
    import av
    with av.open(str(path)) as f:
        for frame in f.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def test_no_audio_and_a_variable_frame_rate(tmp_path):
    times = [0, 0.1, 0.15, 0.4, 0.45, 0.5, 0.9, 1.0]
    clip = write_clip(tmp_path / "vfr.mp4", moving_face(8), frame_times=times, tone_hz=None)
    got = probe(cartoonise_video(clip, tmp_path / "out", Negative()))
    assert got["audio"] is None and got["times"] == pytest.approx(times, abs=1e-3)


def test_a_portrait_phone_video_comes_out_upright(tmp_path):
    frames = moving_face(4, size=(160, 240))
    clip = write_clip(tmp_path / "phone.mp4", frames, rotation=90)
    assert probe(clip)["rotation"] == 90
    got = probe(cartoonise_video(clip, tmp_path / "out", Negative()))
    assert got["size"] == (240, 160) and got["rotation"] == 0
    first = next(iter(read_rgb(tmp_path / "out" / "phone_cartoon.mp4")))
    assert np.abs(first.astype(int) - (255 - np.rot90(frames[0]))).mean() < 4  # turned as the player turns it


def test_odd_sizes_are_cut_to_even_and_a_file_without_video_is_one_line(tmp_path):
    from utils.errors import UserError
    clip = write_clip(tmp_path / "odd.mp4", [f[:239, :319] for f in moving_face(3)], tone_hz=None, pix_fmt="yuv444p")
    (tmp_path / "cut").write_bytes(b"not a video")
    got = probe(cartoonise_video(clip, tmp_path / "out", Negative()))
    assert got["size"] == (238, 318) and got["pix_fmt"] == "yuv420p"
    with pytest.raises(UserError, match="cut: cannot open video"):
        cartoonise_video(Path(tmp_path / "cut"), tmp_path / "out", Negative())


class Crops:
    """A stand-in Cartooniser for FaceCartooniser that records nothing but passes frames and crops through."""
    batch_size, strength = 4, 1.0

    def cartoons(self, images):
        return [np.asarray(i).copy() for i in images]


def crop_centres(frames, track) -> list[np.ndarray | None]:
    """Where the aligned crop of the face is centred, in frame pixels, frame by frame."""
    from inference.faces import FaceCartooniser
    from utils.faces.landmarks import FaceLandmarks

    faces = FaceCartooniser(Crops(), FaceLandmarks(), size=128, track=track)
    centres = []
    for frame in frames:
        found = faces.faces(frame)
        centres.append(cv2.invertAffineTransform(found[0][1]) @ np.array([64, 64, 1.0]) if found else None)
    return centres


def test_the_face_crop_moves_smoothly_with_a_steadily_moving_face_and_survives_a_missed_frame():
    from utils.faces.track import FaceTrack

    rng = np.random.default_rng(0)
    frames = [np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in moving_face(16, step=2.0)]
    raw = np.array(crop_centres(frames, None))
    tracked = np.array(crop_centres(frames, FaceTrack()))
    jitter = lambda c: np.abs(np.diff(c[4:], 2, axis=0)).mean()  # noqa: E731  (second differences, settled)
    assert jitter(tracked) < 0.5 * jitter(raw) and jitter(tracked) < 0.6
    speed = (tracked[-1] - tracked[4]) / (len(frames) - 5)
    assert speed[0] == pytest.approx(2.0, abs=0.3) and abs(speed[1]) < 0.3  # follows the motion, without lag
    assert np.abs(tracked[-1] - raw[-1]).max() < 2.5
    frames[10] = np.full_like(frames[10], 120)  # the detector misses the face in one frame
    held = crop_centres(frames, FaceTrack())
    assert crop_centres([frames[10]], None) == [None] and held[10] is not None
    assert np.abs(held[10] - (held[9] + held[11]) / 2).max() < 1.5  # coasted on its velocity


def test_a_video_with_faces_through_test_py_keeps_its_audio(trained_checkpoint, tmp_path, capsys):
    import test as test_script

    clip = write_clip(tmp_path / "face.mp4", moving_face(6), fps=10)
    test_script.main(["--checkpoint", str(trained_checkpoint), "--input", str(clip), "--out", str(tmp_path / "v"),
                      "--align", "--device", "cpu", "--batch_size", "2"])
    said = capsys.readouterr().out
    assert "6 face(s) cartoonised from aligned crops in 6 of 6 image(s)" in said
    got = probe(tmp_path / "v" / "face_cartoon.mp4")
    assert got["codec"] == "h264" and len(got["times"]) == 6 and got["audio"]["codec"] == "aac"


def test_the_cartoon_video_plays_to_its_end_with_sound_in_chromium(tmp_path):
    """A <video> element in headless Chromium plays the output through (H.264 + AAC in MP4) and decodes audio."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import StaticServer, chromium

    clip = write_clip(tmp_path / "clip.mp4", moving_face(10), fps=10)
    cartoonise_video(clip, tmp_path, Negative())
    (tmp_path / "play.html").write_text('<video id="v" src="clip_cartoon.mp4" preload="auto"></video>')
    driver = chromium("--autoplay-policy=no-user-gesture-required")
    try:
        with StaticServer(tmp_path) as url:
            driver.get(f"{url}/play.html")
            driver.execute_script("window.failed = null; const v = document.getElementById('v');"
                                  "v.onerror = () => { window.failed = v.error.code; }; v.play();")
            WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "return document.getElementById('v').ended || window.failed !== null"))
            state = driver.execute_script("const v = document.getElementById('v'); return {failed: window.failed, "
                                          "ended: v.ended, duration: v.duration, w: v.videoWidth, "
                                          "audio: v.webkitAudioDecodedByteCount};")
    finally:
        driver.quit()
    assert state["failed"] is None and state["ended"] and state["w"] == 320
    assert state["duration"] == pytest.approx(1.0, abs=0.1) and state["audio"] > 0


def test_fuzz_cartoonise_video(tmp_path):
    """A damaged video (a real H.264 + AAC MP4) is a one-line UserError or a cartoon video, never another error,
    a hang or a runaway allocation."""
    from hypothesis import given
    from hypothesis import strategies as st

    from tests.fuzzing import assert_valid_or, bounded, damaged
    from utils.errors import UserError

    clip = write_clip(tmp_path / "clip.mp4", [cv2.resize(f, (64, 48)) for f in moving_face(4)], fps=10)
    valid = clip.read_bytes()

    def frames_written(path):  # the output's video (its audio is the input's, copied as it is, damage and all)
        import av

        with av.open(str(cartoonise_video(path, tmp_path / "out", Negative(), write=lambda _: None))) as f:
            return sum(1 for _ in f.decode(video=0))

    packets = valid.index(b"mdat") + 4  # damage past the container's headers reaches the decoders
    @given(st.one_of(damaged(valid), damaged(valid, start=packets)))
    def check(data):
        clip.write_bytes(data)
        assert_valid_or(bounded(frames_written, clip), UserError)

    check()
