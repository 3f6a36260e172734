"""The alpha-beta filter of utils.faces.track on synthetic points (formula in its docstring)."""
import numpy as np
import pytest

from utils.faces.track import FaceTrack


def square(x: float, y: float, side: float = 60) -> np.ndarray:
    pts = np.zeros((68, 2))
    pts[:, 0] = x + np.linspace(0, side, 68)
    pts[:, 1] = y + np.linspace(0, side, 68)[::-1]
    return pts


def test_steady_motion_is_followed_without_lag_and_jitter_is_damped():
    rng = np.random.default_rng(0)
    track, out = FaceTrack(), []
    for i in range(40):
        noisy = square(10 + 3 * i, 20) + rng.normal(0, 1.0, (68, 2))
        out.append(track.update([noisy])[0].mean(0))
    out = np.array(out)
    truth = np.array([square(10 + 3 * i, 20).mean(0) for i in range(40)])
    assert np.abs(out[20:] - truth[20:]).mean() < 0.3  # no lag behind the moving face once it has learnt v
    assert np.abs(np.diff(out[20:], 2, axis=0)).mean() < 0.2


def test_one_update_is_the_filters_formula():
    track = FaceTrack(alpha=0.5, beta=0.1)
    z0, z1 = square(0, 0), square(4, 0)
    track.update([z0])
    got = track.update([z1])[0]
    predicted = z0  # x = z0, v = 0
    r = z1 - predicted
    np.testing.assert_allclose(got, predicted + 0.5 * r, atol=1e-5)
    np.testing.assert_allclose(track.tracks[0]["v"], 0.1 * r, atol=1e-6)


def test_a_missed_face_coasts_for_hold_frames_then_ends_and_a_far_face_is_new():
    track = FaceTrack(hold=2)
    for i in range(10):
        track.update([square(2 * i, 0)])
    assert len(track.update([])) == 1 and len(track.update([])) == 1 and track.update([]) == []
    track.update([square(0, 0)])
    assert len(track.update([square(2, 0), square(300, 300)])) == 2  # the second is another face
    assert track.tracks[0]["x"].mean(0)[0] == pytest.approx(square(2, 0).mean(0)[0], abs=1.5)
