import pytest
import torch
import torchvision
from torch import nn

from models.vgg import VGGFeatures, build_vgg, load_vgg19_state, lsuv_photos, lsuv_vgg
from utils.errors import UserError


@pytest.fixture
def small_lsuv_photos(monkeypatch):
    """build_vgg's LSUV fallback on 32² photos: the tests that only check which network comes back need not pay a
    full LSUV pass (seconds)."""
    import models.vgg as vgg_module

    monkeypatch.setattr(vgg_module, "lsuv_photos", lambda size=32: lsuv_photos(size))


def test_slice_ends_at_conv4_4_before_relu():
    vgg = VGGFeatures()
    assert len(vgg.features) == 26
    last = vgg.features[-1]
    assert isinstance(last, nn.Conv2d) and (last.in_channels, last.out_channels) == (512, 512)
    assert sum(isinstance(m, nn.Conv2d) for m in vgg.features) == 12  # conv1_1 ... conv4_4
    assert sum(isinstance(m, nn.MaxPool2d) for m in vgg.features) == 3
    assert vgg(torch.rand(1, 3, 64, 64) * 2 - 1).min() < 0  # pre-ReLU: negative values survive


def test_normalisation_matches_torchvision_imagenet_transform():
    """torchvision's own preset for these weights, not copied constants: ((x+1)/2 − mean)/std."""
    preset = torchvision.models.VGG19_Weights.IMAGENET1K_V1.transforms()
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    normalize = torchvision.transforms.Normalize(preset.mean, preset.std)
    assert torch.allclose(VGGFeatures().normalize(x), normalize((x + 1) / 2), atol=1e-6)


def test_offline_network_is_seeded_and_unit_variance_on_a_real_photo():
    """LSUV: orthogonal random convs scaled to unit output variance on scikit-image's photos. The astronaut
    crop below is not one of those inputs as such (another size and framing), so this checks generalisation."""
    import cv2
    from skimage import data

    small = lsuv_photos(32)  # the seeding checks on 32² photos (a full LSUV pass costs seconds)
    b, c = lsuv_vgg(photos=small), lsuv_vgg(photos=small)
    assert all(torch.equal(x, y) for x, y in zip(b.state_dict().values(), c.state_dict().values()))
    assert not torch.equal(lsuv_vgg(seed=1, photos=small).features[0].weight, b.features[0].weight)
    a = lsuv_vgg()
    assert a.source == "random-lsuv-seed0"
    photo = cv2.resize(data.astronaut()[:300, 100:400], (96, 96), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    std = a(x).std().item()
    assert 0.5 < std < 2.0  # torchvision's plain random init gives ~0.01 here
    assert VGGFeatures()(x).std().item() < 0.05


def test_random_and_auto_fallback_say_so(monkeypatch, small_lsuv_photos):
    import models.vgg as vgg_module

    said = []
    assert build_vgg("random", "cpu", said.append).source.startswith("random-lsuv")
    assert "seeded random VGG19" in said[-1]

    def offline(_):
        raise UserError("VGG19 ImageNet weights are not available offline")
    monkeypatch.setattr(vgg_module, "load_vgg19_state", offline)
    said.clear()
    fallback = build_vgg("auto", "meta", said.append)
    assert fallback.source.startswith("random-lsuv") and fallback.features[0].weight.device.type == "meta"
    assert "not available offline" in said[0] and "seeded random VGG19" in said[0]
    with pytest.raises(UserError, match="not available offline"):
        build_vgg("imagenet", "cpu", said.append)


def test_frozen_and_always_eval():
    vgg = VGGFeatures()
    vgg.train()
    assert not vgg.training and not any(p.requires_grad for p in vgg.parameters())


def test_loads_weights_from_a_local_file(tmp_path):
    """A file laid out as torchvision's vgg19() state dict: features.N up to conv5_4, then the classifier (small
    here: building the real 120M-parameter classifier costs seconds); conv4_4 and below are kept."""
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    state = {f"features.{k}": v for k, v in features.state_dict().items()} | {"classifier.0.weight": torch.ones(2)}
    torch.save(state, tmp_path / "vgg19.pth")
    vgg = build_vgg(str(tmp_path / "vgg19.pth"), "cpu")
    assert torch.equal(vgg.features[25].weight, features[25].weight)
    assert torch.equal(vgg.features[0].bias, features[0].bias)


def test_missing_and_bad_weight_files(tmp_path):
    with pytest.raises(UserError, match="nope.pth: VGG19 weights file not found"):
        load_vgg19_state(str(tmp_path / "nope.pth"))
    (tmp_path / "bad.pth").write_text("x")
    with pytest.raises(UserError, match="bad.pth: not a readable VGG19 state dict"):
        load_vgg19_state(str(tmp_path / "bad.pth"))


def test_own_layer_list_is_torchvisions_vgg19_features_to_conv4_4():
    from models.vgg import vgg19_features

    theirs = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])[:26]
    ours = vgg19_features()
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return (10 * torch.log10(4 / (a - b).square().mean())).item()  # images in [-1, 1]: peak-to-peak 2


def test_the_offline_network_holds_content_where_the_plain_random_one_does_not():
    """Training G with the content term alone, from a random init, brings its output towards the photo with the
    LSUV network; the structure term tells two superpixel targets apart. (Closing note: 500 steps at 128².)"""
    import cv2
    from skimage import data

    from losses.content import content_loss
    from losses.structure import structure_loss
    from models.generator import Generator

    photo = cv2.resize(data.astronaut()[:300, 100:400], (48, 48), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    vgg = lsuv_vgg()
    torch.manual_seed(0)
    G = Generator(8, 1)
    opt = torch.optim.Adam(G.parameters(), 2e-3)
    before = psnr(G(x), x)
    for _ in range(60):
        loss = content_loss(vgg(x), vgg(G(x)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = psnr(G(x), x)
    assert after > before + 4, (before, after)

    flat, noisy = torch.zeros_like(x), x + 0.3 * torch.randn_like(x)
    with torch.no_grad():
        lsuv = [structure_loss(vgg(t), vgg(x)).item() for t in (flat, noisy)]
        plain = VGGFeatures()
        default = [structure_loss(plain(t), plain(x)).item() for t in (flat, noisy)]
    assert abs(lsuv[0] - lsuv[1]) > 100 * abs(default[0] - default[1])


def test_no_path_downloads_into_torchvisions_cache_then_reads_it_offline(tmp_path, monkeypatch):
    """No --vgg_weights PATH: torchvision's download of its own file name (here from a server on 127.0.0.1
    instead of download.pytorch.org) lands in $TORCH_HOME's cache, which is read from then on, server or not;
    with neither, one line names the file, the folder and the flag."""
    from models.vgg import WEIGHTS_FILE
    from web.headless import StaticServer

    served = tmp_path / "served"
    served.mkdir()
    state = {"features.0.weight": torch.randn(64, 3, 3, 3), "features.0.bias": torch.randn(64)}
    torch.save(state, served / WEIGHTS_FILE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    with StaticServer(served) as base:
        monkeypatch.setattr(torchvision.models.VGG19_Weights.IMAGENET1K_V1.value, "url", f"{base}/{WEIGHTS_FILE}")
        got = load_vgg19_state(None)
    assert torch.equal(got["features.0.weight"], state["features.0.weight"])
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert cached.is_file()
    assert torch.equal(load_vgg19_state(None)["features.0.bias"], state["features.0.bias"])  # server gone
    cached.unlink()
    with pytest.raises(UserError) as e:
        load_vgg19_state(None)
    assert f"download {WEIGHTS_FILE} into {cached.parent} or pass --vgg_weights PATH" in str(e.value)


def test_build_vgg_records_where_its_weights_came_from_and_names_a_file_that_does_not_fit(tmp_path, monkeypatch,
                                                                                         small_lsuv_photos):
    """'imagenet' and 'auto' (also None) read torchvision's cache and record 'imagenet'; a PATH records the path;
    'random' warns in full; every network lands on the device asked for (meta here); weights that do not fit name
    their file and the first line of torch's reason."""
    from models.vgg import WEIGHTS_FILE, vgg19_features

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    cache = tmp_path / "torch_home" / "hub" / "checkpoints" / WEIGHTS_FILE
    cache.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in vgg19_features().state_dict().items()}, cache)
    for weights in ("imagenet", "auto", None):
        vgg = build_vgg(weights, "meta")
        assert vgg.source == "imagenet" and vgg.features[0].weight.device.type == "meta"
    torch.save(torch.load(cache), tmp_path / "mine.pth")
    assert build_vgg(str(tmp_path / "mine.pth"), "cpu").source == str(tmp_path / "mine.pth")
    said = []
    assert build_vgg("random", "meta", said.append).features[0].weight.device.type == "meta"
    assert said == ["warning: --vgg_weights random: content and structure terms use a seeded random VGG19 "
                    "(LSUV-scaled), not ImageNet features; see the README's 'VGG19 weights'"]
    torch.save({"features.0.weight": torch.ones(64, 3, 5, 5)}, cache)
    with pytest.raises(UserError) as e:
        build_vgg("auto", "cpu")
    assert str(e.value).startswith(f"{cache}: does not fit VGG19 (Error(s) in loading state_dict for Sequential:")
    assert str(e.value).endswith(":)") and "\n" not in str(e.value)
