"""Train the cartooniser:
    python train.py --total_iter 30000 --model_version 1 --w0 1e5 --w1 2e-1 --w2 5 --w3 2e1 --w4 6e-1

Starts from the newest checkpoints/saved_models/pre_gen_batch_*.pth (or --pretrained NAME|PATH) and writes
checkpoints/saved_models/gen{model_version}_batch_{step}.pth (G, both Ds, both optimisers, step, options, RNG)
every --save_every steps and at the end, and checkpoints/logs/gen{model_version}/ with options.json,
losses.jsonl and samples/ (photo | output | superpixel | surface blur | texture gray).
Several processes: torchrun --nproc_per_node N train.py ... (--batch_size is per process).
"""
from training.options import parse_training_options, train_parser
from utils.errors import UserError, cli


@cli
def main(argv=None):
    # before torch: --help and --dry-run answer at once (torch loads only to read a checkpoint to resume)
    parsed = parse_training_options(train_parser, argv, prefix_of=lambda o: f"gen{o.model_version}", kind="train")
    return None if parsed is None else train(*parsed)


def train(opts, resumed: dict | None = None):
    # imported here, after the arguments are parsed: --help never waits for torch
    from training.held_out import HeldOut
    from training.loop import Session, training_loop
    from utils.flags import max_pixels

    s = Session.begin(opts)
    photos = s.folder(opts.photo_dir, opts.image_size, max_pixels(opts))
    cartoons = s.folder(opts.cartoon_dir, opts.image_size, max_pixels(opts))
    nets, origin = networks(opts, s, resumed)
    held_out = (HeldOut(opts.eval_dir, opts.eval_num, opts.predictor, write=s.write, max_pixels=max_pixels(opts),
                        cartoon_dir=opts.cartoon_dir, device=s.device) if opts.eval_dir and s.d.main else None)
    prepare = adversarial_steps(opts, s, nets, photos, held_out, origin)
    return training_loop(opts, s, f"gen{opts.model_version}", nets.parts(), [photos, cartoons], prepare,
                         "training", resumed=resumed)


def networks(opts, s, resumed: dict | None):
    """(Nets, the generator's origin): G from its start (or the run's checkpoint), both discriminators, the content
    network when a term needs it, both optimisers, and the style anchor and landmark reader when their terms are
    on."""
    import torch

    from losses.weights import LossWeights
    from models.discriminator import PatchDiscriminator
    from models.vgg import build_vgg
    from training.start import anchor_generator, initial_generator, landmark_view
    from training.steps import Nets

    G, origin = initial_generator(opts.pretrained, opts.save_dir, s.write, resumed)
    if opts.image_size % G.size_multiple:
        raise UserError(f"--image_size {opts.image_size}: the {G.name} generator needs a multiple of "
                        f"{G.size_multiple}")
    G, D_texture, D_surface = (m.to(s.device) for m in (G, PatchDiscriminator(1), PatchDiscriminator(3)))
    weights, betas = LossWeights.from_flags(opts), (opts.beta1, opts.beta2)
    uses_vgg = weights.content > 0 or weights.structure > 0  # else no VGG19 is built (nor downloaded)
    vgg = build_vgg(opts.vgg_weights, s.device, s.write if s.d.main else None) if uses_vgg else None
    nets = Nets(G, D_texture, D_surface, vgg, torch.optim.Adam(G.parameters(), opts.lr, betas=betas),
                torch.optim.Adam([*D_texture.parameters(), *D_surface.parameters()], opts.lr, betas=betas))
    if weights.holds_to_start:
        said = f"--w6 {opts.w6:g}, guards --w7 {opts.w7:g} --w8 {opts.w8:g} --w9 {opts.w9:g}"
        nets.anchor = s.precision.layout(anchor_generator(opts.pretrained, opts.save_dir, said, s.write).to(s.device))
    if weights.landmark > 0:
        nets.landmark = landmark_view(opts.landmark_view, opts.landmark_sigma, opts.landmark_threshold,
                                      opts.landmark_reader, s.device)
    return nets, origin


def adversarial_steps(opts, s, nets, photos, held_out, origin):
    """``prepare(start)`` for the loop: once the checkpoint is loaded, the photos' landmarks, the DDP wrappers, the
    superpixel helpers, and White-box's step (after --d_warmup steps of the discriminators alone)."""
    from losses.superpixel import Superpixels
    from losses.weights import LossWeights
    from training import distributed
    from training.loop import Steps, checkpoint_state
    from training.start import face_landmarks
    from training.steps import FaceSettings, d_warmup_step, representations, train_step

    weights = LossWeights.from_flags(opts)
    face = FaceSettings(opts.landmark_sigma, opts.anchor_free)
    G, vgg, parts = nets.G, nets.vgg, nets.parts()

    def prepare(start: int) -> Steps:
        needs_points = weights.landmark > 0 or (weights.anchor > 0 and opts.anchor_free > 0)
        photos.landmarks = face_landmarks(opts.photo_dir, opts.landmark_cache, opts.save_dir, opts.predictor,
                                          opts.workers, s.d, s.write) if needs_points else None
        nets.G, nets.D_texture, nets.D_surface = (distributed.wrap(s.precision.layout(m), s.d, s.device)
                                                  for m in (G, parts["D_texture"], parts["D_surface"]))
        nets.vgg = s.precision.layout(vgg) if vgg is not None else None
        method = opts.superpixel if opts.superpixel != "auto" else ("torch" if s.device.type == "cuda" else "skimage")
        superpixels = Superpixels(opts.superpixel_workers, opts.use_enhance, method)

        def step(n, now):
            photo, cartoon = s.images(now[0]), s.images(now[1])
            if n <= opts.d_warmup:  # discriminators only, G frozen
                return d_warmup_step(photo, cartoon, nets, s.precision, opts.train_d_times)
            return train_step(photo, cartoon, nets, weights, s.precision, superpixels, now[0].get("points"), face,
                              opts.train_d_times)

        return Steps(step, checkpoint_state("train", opts, parts, s.precision, origin=origin,
                                            vgg=vgg.source if vgg is not None else "none"),
                     columns=lambda now: representations(s.images(now[0])[:4], G, superpixels),
                     evaluate=(lambda: held_out(G, s.device, s.precision)) if held_out is not None else None,
                     shown=("g_total", "d_total"), closes=(superpixels,))
    return prepare


if __name__ == "__main__":
    main()
