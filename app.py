"""Web demo: upload a photo (or take one with the webcam), get the cartoon beside it.

    python app.py                       # http://127.0.0.1:7860, the author's face model by default
    python app.py --checkpoint my.pth   # also offer your own checkpoint (and every .pth in --save_dir)

The page runs test.py's code path (inference: the same Cartooniser, face compositing and strength), loads
each model once, and bounds what one request may cost: uploads are shrunk to --max_upload_side before anything
else, the model input to the chosen size cap (at most --max_side), and requests wait in a queue of
--queue_size. A bad upload, no face with faces on, or a model that cannot be downloaded is a message on the
page; the server keeps serving.
"""
import argparse
import functools
import tempfile
from pathlib import Path

from utils.flags import SAVE_DIR, add_pixel_limit_arg  # torch-free: --help answers before gradio and torch


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to your network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    p.add_argument("--checkpoint", default=None, help="a checkpoint to offer first (and use by default)")
    p.add_argument("--save_dir", default=SAVE_DIR, help="every .pth here is offered too")
    p.add_argument("--device", default="auto")
    p.add_argument("--max_side", type=int, default=1024, help="largest model input side a user may pick")
    p.add_argument("--max_upload_side", type=int, default=4096, help="uploads are shrunk to this first")
    p.add_argument("--queue_size", type=int, default=8, help="requests waiting at most; more are refused")
    add_pixel_limit_arg(p)
    return p


def model_choices(checkpoint: str | None, save_dir: str) -> list[str]:
    from models.released.pretrained import REGISTRY

    found = sorted(str(p) for p in Path(save_dir).glob("*.pth")) if Path(save_dir).is_dir() else []
    return list(dict.fromkeys([*([checkpoint] if checkpoint else []), *REGISTRY, *found]))


def example_files() -> list[str]:
    from datasets.make_demo import SHOWCASE
    from utils.image_io import skimage_photo, write_image

    folder = Path(tempfile.gettempdir()) / "facial-cartoonization-examples"
    files = []
    for name in SHOWCASE:
        path = folder / f"{name}.png"
        if not path.is_file():
            write_image(path, skimage_photo(name))
        files.append(str(path))
    return files


class Demo:
    def __init__(self, opts):
        from utils.flags import max_pixels
        from utils.image_io import pillow
        from utils.runtime import Precision, pick_device

        pillow()  # Gradio reads an upload's header with Pillow: our pixel limit, not Pillow's, must answer
        self.opts, self.device, self.max_pixels = opts, pick_device(opts.device), max_pixels(opts)
        self.precision = Precision.choose(self.device, "auto", "auto", print)

    @functools.lru_cache(maxsize=4)
    def generator(self, model: str):
        """Loaded once per model name (a request never reloads weights)."""
        from inference.cartoonise import load_generator
        from models.released.pretrained import resolve_model

        return load_generator(resolve_model(model), self.device)

    @functools.lru_cache(maxsize=1)
    def landmarks(self):
        from utils.faces.landmarks import FaceLandmarks  # dlib only when faces are asked for
        return FaceLandmarks()

    def cartoonise(self, path, model, faces, strength, size_cap):
        """(photo, cartoon, cartoon PNG path, a line about what was done) for one upload."""
        import cv2
        import gradio as gr

        from inference.cartoonise import Cartooniser, fit_size
        from utils.errors import UserError
        from utils.image_io import BadImage, TooManyPixels, read_image, write_image

        if not path:
            raise gr.Error("Upload a photo first.")
        try:
            photo = read_image(path, self.max_pixels)
        except TooManyPixels as e:
            raise gr.Error(f"This image is too large: {e.width:,} × {e.height:,} pixels. Photos up to "
                           f"{e.limit / 1e6:g} megapixels are taken (a phone photo is 12 to 50): shrink it and "
                           f"try again.") from None
        except BadImage as e:
            raise gr.Error(f"Cannot read this file: {str(e).split(': ', 1)[-1]}") from None
        h, w = photo.shape[:2]
        note = ""
        if max(h, w) > self.opts.max_upload_side:
            th, tw = fit_size(h, w, self.opts.max_upload_side)
            photo = cv2.resize(photo, (tw, th), interpolation=cv2.INTER_AREA)
            note = f"shrunk from {w}×{h} to {tw}×{th}; "
        try:
            G = self.generator(model)
        except UserError as e:
            raise gr.Error(str(e)) from None
        cartooniser = Cartooniser(G, self.device, min(int(size_cap), self.opts.max_side), self.precision, 1, strength)
        if faces:
            from inference.faces import FaceCartooniser
            cartooniser = FaceCartooniser(cartooniser, self.landmarks())
        cartoon = cartooniser([photo])[0]
        if faces and cartooniser.faces_per_image[-1] == 0:
            gr.Warning(cartooniser.outcome()[0].upper() + cartooniser.outcome()[1:] + ".")
        out = write_image(Path(tempfile.mkdtemp(prefix="cartoon-")) / "cartoon.png", cartoon)
        found = f", {cartooniser.outcome()}" if faces else ""
        return photo, cartoon, str(out), f"{note}{model}, strength {strength:g}{found}"


def build(opts):
    import gradio as gr

    demo = Demo(opts)
    choices = model_choices(opts.checkpoint, opts.save_dir)
    with gr.Blocks(title="Facial cartoonization") as page:
        gr.Markdown("## Facial cartoonization\nWhite-box Cartoonization for faces. `facial`: the White-box "
                    "author's face model (smooth skin, big eyes; best on portraits); `whitebox`: the general "
                    "White-box model (better on scenes without a face). Both are CC BY-NC-SA 4.0 (their authors'): "
                    "non-commercial use only.")
        with gr.Row():
            # a file path, no image_mode: Gradio reads only the header, and read_image checks it before decoding
            upload = gr.Image(type="filepath", image_mode=None, sources=["upload", "webcam"], label="Photo",
                              elem_id="photo")
            with gr.Column():
                model = gr.Dropdown(choices, value=choices[0], label="Model", allow_custom_value=False)
                faces = gr.Checkbox(True, label="Faces: cartoonise each face from an aligned crop")
                strength = gr.Slider(0, 1, 1, step=0.05, label="Strength (0 = photo, 1 = cartoon)")
                size = gr.Slider(128, opts.max_side, min(720, opts.max_side), step=4, label="Output size cap (px)")
                button = gr.Button("Cartoonise", variant="primary", elem_id="go")
        with gr.Row():
            before = gr.Image(label="Before", interactive=False, format="png", elem_id="before")
            after = gr.Image(label="After", interactive=False, format="png", elem_id="after")
        with gr.Row():
            info = gr.Textbox(label="What was done", interactive=False, elem_id="info")
            download = gr.File(label="Download the cartoon (PNG)", interactive=False, elem_id="download")
        gr.Examples([[f] for f in example_files()], [upload], label="Examples (scikit-image photos)")
        button.click(demo.cartoonise, [upload, model, faces, strength, size], [before, after, download, info],
                     api_name="cartoonise")
    return page.queue(max_size=opts.queue_size, default_concurrency_limit=1)


def main(argv=None):
    opts = parser().parse_args(argv)
    build(opts).launch(server_name=opts.host, server_port=opts.port, share=opts.share, show_error=True)


if __name__ == "__main__":
    main()
