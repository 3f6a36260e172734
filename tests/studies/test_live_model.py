"""The real-time model's verdict: each bound of the live-page issue named when missed, and PSNR as its formula."""
import numpy as np
import pytest

from studies.live_model import psnr, verdict

TEACHER = {"landmark_nme": 0.040, "identity_distance": 0.40, "flat_share": 0.44, "high_frequency_ratio": 1.1,
           "gflop_256": 4.05, "line_share": 0.020}
AUTHOR = {"high_frequency_ratio": 1.64}


def test_a_student_inside_every_bound_meets_the_aim():
    good = {"landmark_nme": 0.044, "identity_distance": 0.43, "flat_share": 0.42, "high_frequency_ratio": 1.6,
            "gflop_256": 1.05, "line_share": 0.016}
    assert verdict(good, TEACHER, AUTHOR) == []


@pytest.mark.parametrize("key, value, said", [("landmark_nme", 0.045, "landmark_nme 0.0450 above 1.1 ×"),
                                              ("identity_distance", 0.45, "identity_distance 0.4500 above"),
                                              ("flat_share", 0.404, "flat share 0.404 more than 0.02 below"),
                                              ("high_frequency_ratio", 1.7, "high-frequency ratio 1.70 above"),
                                              ("gflop_256", 1.4, "1.40 GFLOP, more than a third"),
                                              ("line_share", 0.0159, "line share 0.0159 under 80% of the teacher's")])
def test_each_missed_bound_is_named(key, value, said):
    student = {"landmark_nme": 0.04, "identity_distance": 0.4, "flat_share": 0.44, "high_frequency_ratio": 1.0,
               "gflop_256": 1.0, "line_share": 0.02, key: value}
    misses = verdict(student, TEACHER, AUTHOR)
    assert len(misses) == 1 and misses[0].startswith(said)


def test_psnr_is_10_log10_of_peak_squared_over_mse():
    a, b = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 5, np.uint8)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 25)) and psnr(a, a) == float("inf")
