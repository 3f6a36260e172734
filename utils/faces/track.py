"""Faces followed from frame to frame in a video, so that the aligned crop of a face does not jitter.

Each track holds a face's 68 points x and their velocity v per frame, and is updated by an alpha-beta filter
(the steady-state Kalman filter of a constant-velocity motion):

    predicted = x + v;   r = z − predicted;   x ← predicted + α·r;   v ← v + β·r

with z the points dlib found in this frame. A face moving steadily is followed without lag (v learns the motion),
while dlib's frame-to-frame jitter of a pixel or two is damped by α. A detection joins the track whose predicted
centre is nearest, if within half the face's size; a track that finds no detection coasts on its velocity for up to
``hold`` frames (the detector misses a face for a frame or two), then ends.
"""
import numpy as np


class FaceTrack:
    def __init__(self, alpha: float = 0.5, beta: float = 0.1, hold: int = 2):
        self.alpha, self.beta, self.hold = alpha, beta, hold
        self.tracks: list[dict] = []  # {"x": (68, 2), "v": (68, 2), "missed": int}

    def update(self, found: list[np.ndarray]) -> list[np.ndarray]:
        """This frame's detections (each (68, 2) points) -> the smoothed points of every live face."""
        unmatched = list(range(len(self.tracks)))
        for z in found:
            z = np.asarray(z, np.float64)
            size = np.ptp(z, axis=0).max()
            near = [(np.linalg.norm((self.tracks[i]["x"] + self.tracks[i]["v"]).mean(0) - z.mean(0)), i)
                    for i in unmatched]
            distance, i = min(near, default=(np.inf, -1))
            if distance > size / 2:
                self.tracks.append({"x": z, "v": np.zeros_like(z), "missed": 0})
                continue
            unmatched.remove(i)
            track = self.tracks[i]
            predicted = track["x"] + track["v"]
            r = z - predicted
            track["x"], track["v"], track["missed"] = predicted + self.alpha * r, track["v"] + self.beta * r, 0
        for i in unmatched:  # not seen in this frame: coast, or end
            track = self.tracks[i]
            track["x"], track["missed"] = track["x"] + track["v"], track["missed"] + 1
        self.tracks = [t for t in self.tracks if t["missed"] <= self.hold]
        return [t["x"].astype(np.float32) for t in self.tracks]
