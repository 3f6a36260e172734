import numpy as np
import pytest
import scipy.linalg

from inference.fid import InceptionFeatures, features, fid, kid


def fid_reference(a, b):
    """The usual scipy form: |μa−μb|² + Tr(Σa + Σb − 2·sqrtm(Σa Σb))."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * covmean))


def kid_reference(x, y):
    """Unbiased MMD² written as explicit sums over i ≠ j."""
    d, n = x.shape[1], len(x)
    k = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    return xx + yy - 2 * xy


def test_fid_matches_scipy_reference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 16)), rng.normal(0.3, 1.5, size=(250, 16))
    assert fid(a, b) == pytest.approx(fid_reference(a, b), rel=1e-6)


def test_fid_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(1).normal(size=(200, 8))
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)


def test_kid_matches_explicit_unbiased_sum_on_one_subset():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 5)), rng.normal(0.5, 1, size=(20, 5))
    mean, _ = kid(x, y, subsets=1, subset_size=20)
    assert mean == pytest.approx(kid_reference(x, y), rel=1e-9)


def test_kid_is_unbiased_near_zero_for_the_same_distribution():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    mean, std = kid(x, y, subsets=20, subset_size=100)
    assert abs(mean) < 3 * std + 1e-3  # unbiased: can be negative, centred on 0


def test_inception_gives_2048_pool_features_for_images_of_any_size():
    images = [np.random.default_rng(i).integers(0, 256, (64 + 9 * i, 80, 3), dtype=np.uint8) for i in range(2)]
    assert features(InceptionFeatures(), images, "cpu").shape == (2, 2048)


def test_reference_set_counts_unreadable_files_and_refuses_an_all_bad_folder(tmp_path):
    import cv2

    from inference.evaluate import read_reference
    from utils.errors import UserError

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "b.png").write_text("not an image")
    images, skipped = read_reference(tmp_path, 10)
    assert len(images) == 1 and skipped == 1
    (tmp_path / "a.png").unlink()
    with pytest.raises(UserError, match="none of its 1 cartoon files could be decoded"):
        read_reference(tmp_path, 10)
