"""Device, precision and helper-process utilities."""
import pytest
import torch

from utils.flags import spare_cores
from utils.runtime import Precision, cpu_name, resolve_precision


@pytest.mark.parametrize("native, precision, layout, faster, want", [
    (True, "auto", "auto", False, ("bf16", True)),   # AVX512_BF16 / AMX: bf16 + channels_last (2.1× a VGG forward)
    (False, "auto", "auto", False, ("fp32", False)),  # AVX2 only: fp32, in the layout measured faster there
    (False, "auto", "auto", True, ("fp32", True)),
    (False, "bf16", "auto", False, ("bf16", False)),  # an explicit choice is obeyed
    (True, "fp32", "off", True, ("fp32", False)),
    (False, "fp32", "on", False, ("fp32", True)),
])
def test_auto_follows_the_cpu_capability(native, precision, layout, faster, want):
    got = resolve_precision(torch.device("cpu"), precision, layout, native_bf16=lambda: native,
                            layout_probe=lambda device: faster)
    assert got[:2] == want
    if not native and layout == "auto":
        assert got[2].endswith(f"{'channels_last' if faster else 'contiguous'} measured faster here")


def test_the_layout_probe_answers_once_per_process():
    from utils.runtime import faster_layout

    faster_layout.cache_clear()
    first = faster_layout(torch.device("cpu"), repeats=1)
    assert isinstance(first, bool) and faster_layout(torch.device("cpu"), repeats=1) is first
    assert faster_layout.cache_info().hits == 1


def test_auto_on_cuda_uses_bf16_where_the_card_has_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Fake GPU")
    for supported, want in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: supported)
        assert resolve_precision(torch.device("cuda"), "auto", "auto")[:2] == (want, True)


def test_choose_says_what_it_picked_once():
    said = []
    p = Precision.choose(torch.device("cpu"), "fp32", "off", said.append)
    assert said == ["precision: fp32, contiguous layout (CPU " + said[0].split("(CPU ", 1)[1]]
    assert p.dtype is None and not p.channels_last


def test_layout_converts_modules_and_4d_tensors_only_when_asked():
    on, off = Precision("cpu", "fp32", True), Precision("cpu", "fp32", False)
    x = torch.rand(1, 3, 4, 4)
    assert on.layout(x).is_contiguous(memory_format=torch.channels_last) and off.layout(x) is x
    conv = on.layout(torch.nn.Conv2d(3, 3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert on.layout(torch.rand(3)).dim() == 1


def test_bf16_autocast_runs_convolutions_in_bf16():
    with Precision("cpu", "bf16").autocast():
        assert torch.nn.Conv2d(3, 3, 1)(torch.rand(1, 3, 2, 2)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision 'fp8'"):
        Precision("cpu", "fp8")


def test_spare_cores_and_cpu_name():
    assert 0 <= spare_cores(2) <= 2 and spare_cores(0) == 0
    assert "cores" in cpu_name()
