"""A generator's conventions decide how it is run; callers never branch on which model it is."""
import pytest
import torch

from models.conventions import conventions, generate
from models.face_generator import FaceGenerator
from models.generator import TEST_EPS, TRAIN_EPS, Generator
from models.guided_filter import guided_filter
from models.zoo import build_generator


def test_whitebox_runs_rgb_through_the_guided_filter():
    G = Generator(8, 1).eval()
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(generate(G, x), guided_filter(x, G(x), 1, TEST_EPS))
        assert torch.allclose(generate(G, x, training=True), guided_filter(x, G(x), 1, TRAIN_EPS))


def test_face_model_takes_and_returns_bgr_without_a_filter():
    G = FaceGenerator(4, 1).eval()
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        want = G(x.flip(1)).flip(1)  # the author's inference feeds OpenCV's BGR frames
        assert torch.equal(generate(G, x), want) and torch.equal(generate(G, x, training=True), want)
        assert not torch.allclose(generate(G, x), G(x))  # the order matters: an RGB feed is another output


def test_conventions_are_found_through_wrappers():
    G = FaceGenerator(4, 1)
    wrapper = torch.nn.Module()
    wrapper.module = G
    assert conventions(wrapper) is G and conventions(G).size_multiple == 16
    assert conventions(torch.compile(G)) is G  # compiles nothing until called; holds G as ._orig_mod
    assert conventions(torch.compile(wrapper)) is G
    assert Generator.size_multiple == 4 and Generator.native_size == FaceGenerator.native_size == 256


@pytest.mark.parametrize("cls", [Generator, FaceGenerator])
def test_arch_rebuilds_the_same_architecture(cls):
    G = cls(8, 2)
    again = build_generator(G.arch())
    assert type(again) is cls and again.state_dict().keys() == G.state_dict().keys()
    assert [t.shape for t in again.state_dict().values()] == [t.shape for t in G.state_dict().values()]


def test_a_checkpoint_without_a_generator_name_holds_whitebox():
    assert type(build_generator({"channel": 8, "num_blocks": 1})) is Generator
