"""Run by tests/utils/test_distributed.py under torchrun (2 CPU processes, gloo): the real train_step on DDP-wrapped
nets, on each rank's shard; writes every step's parameter checksums of every rank, and the sample indices each
rank drew in its first epoch, to the JSON file named by argv[3]."""
import json
import sys

import torch

from datasets.folder import ImageFolder, batches
from losses.superpixel import Superpixels
from losses.weights import LossWeights
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import VGGFeatures
from training import distributed
from training.steps import Nets, train_step
from utils.runtime import Precision, seed_everything


def checksum(module) -> list[float]:
    return [float(p.detach().double().sum()) for p in module.parameters()] + \
        [float(b.double().sum()) for b in module.buffers()]


def steps(d, device, photo_dir, cartoon_dir) -> dict:
    """Three train_steps on this rank's shard; the DDP modules die with this frame, before the group is torn
    down (a DDP reducer outliving destroy_process_group can abort gloo's teardown)."""
    seed_everything(d.rank)  # different on purpose: DDP must make the weights equal
    G, Dt, Ds = Generator(8, 1), PatchDiscriminator(1), PatchDiscriminator(3)
    nets = Nets(*(distributed.wrap(m, d, device) for m in (G, Dt, Ds)), VGGFeatures(),
                torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam([*Dt.parameters(), *Ds.parameters()], 1e-3))
    photos, cartoons = ImageFolder(photo_dir, 32), ImageFolder(cartoon_dir, 32)
    pb, cb = batches(photos, 1, seed=0, rank=d.rank, world=d.world), batches(cartoons, 1, seed=1, rank=d.rank,
                                                                            world=d.world)
    record = {"steps": [], "indices": []}
    for _ in range(len(photos) // d.world):
        p, c = next(pb), next(cb)
        record["indices"].append(int(p["index"]))
        train_step(p["image"], c["image"], nets, LossWeights(), Precision(device), Superpixels(0))
        record["steps"].append({name: checksum(m) for name, m in (("G", G), ("D_texture", Dt), ("D_surface", Ds))})
    return record


def main():
    photo_dir, cartoon_dir, out = sys.argv[1:4]
    d, device = distributed.setup("cpu")
    record = steps(d, device, photo_dir, cartoon_dir)
    everything = distributed.gather(record)
    if d.main:
        with open(out, "w") as f:
            json.dump(everything, f)
    distributed.barrier()  # both ranks done before either tears the group down
    distributed.cleanup()


if __name__ == "__main__":
    main()
