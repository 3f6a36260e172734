"""bench.video: the 720p face clip it makes, and its figures from test.py --align."""
import json

import av

from bench import video


def test_the_clip_is_720p_h264_with_every_frame(tmp_path):
    clip = video.face_clip(tmp_path / "clip.mp4", 5)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert (stream.codec_context.name, stream.width, stream.height, len(frames)) == ("h264", 1280, 720, 5)


def test_frames_per_second_of_the_real_time_model_are_written(tmp_path, capsys):
    video.main(["--models", "facial_live", "--frames", "6", "--out", str(tmp_path)])
    [result] = list(tmp_path.glob("video-*.json"))
    [row] = json.loads(result.read_text())["rows"]
    assert row["model"] == "facial_live" and row["frames"] == 6 and row["frames_per_s"] > 0
    assert "| facial_live |" in capsys.readouterr().out
