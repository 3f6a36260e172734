// The square the model sees follows the face, as test.py --align frames a photo: UltraFace (models.json's
// "detector", run by the same ONNX Runtime as the cartoon) finds the faces, the largest is framed, and the square
// moves smoothly: it holds still while the face moves less than a dead zone (no jitter) and otherwise goes half way
// to its new place every frame (no lag the eye sees at camera rates).

const WIDTH = 320, HEIGHT = 240;  // UltraFace's input, as its authors feed it
const MIN_SCORE = 0.7, NMS_IOU = 0.3;  // their thresholds
const SIDE_PER_FACE = 1.6;  // square side / the detector's box side: dlib's face box then fills about half of it
const DEAD_ZONE = 0.04, FOLLOW = 0.5;  // fraction of the side the face may move unfollowed; share of a move per frame
const LOST_AFTER = 3;  // detections without a face before the centre square returns
const DETECT_EVERY = 2;  // frames per detection: the square stays between them (the detector cost 13 ms a frame)

export class FaceFraming {
  constructor(session, ort) {
    this.session = session;
    this.ort = ort;
    this.canvas = new OffscreenCanvas(WIDTH, HEIGHT);
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.square = null;  // {x, y, side} in source pixels, null before the first face
    this.missed = 0;
    this.count = 0;
  }

  // {x, y, side, face}: the square of ``source`` (width × height) to cartoonise; face false when none is framed
  async frame(source, width, height) {
    if (this.square !== null && this.count++ % DETECT_EVERY) return { ...this.square, face: true };
    const box = await this.largestFace(source, width, height);
    this.missed = box ? 0 : this.missed + 1;
    if (!box && (this.square === null || this.missed >= LOST_AFTER)) {
      this.square = null;
      return { ...centreSquare(width, height), face: false };
    }
    if (box) this.square = follow(this.square, target(box, width, height));
    return { ...this.square, face: true };
  }

  async largestFace(source, width, height) {
    this.context.drawImage(source, 0, 0, width, height, 0, 0, WIDTH, HEIGHT);
    const rgba = this.context.getImageData(0, 0, WIDTH, HEIGHT).data;
    const planes = new Float32Array(3 * WIDTH * HEIGHT), n = WIDTH * HEIGHT;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) planes[c * n + i] = (rgba[4 * i + c] - 127) / 128;
    }
    const out = await this.session.run({ input: new this.ort.Tensor("float32", planes, [1, 3, HEIGHT, WIDTH]) });
    const faces = suppress(candidates(out.scores.data, out.boxes.data, width, height));
    return faces.reduce((best, f) => (best === null || area(f) > area(best) ? f : best), null);
  }
}

export function centreSquare(width, height) {
  const side = Math.min(width, height);
  return { x: (width - side) / 2, y: (height - side) / 2, side };
}

// boxes above MIN_SCORE in source pixels, best first
function candidates(scores, boxes, width, height) {
  const found = [];
  for (let i = 0; i < scores.length / 2; i++) {
    const score = scores[2 * i + 1];
    if (score > MIN_SCORE) {
      found.push({ score, x0: boxes[4 * i] * width, y0: boxes[4 * i + 1] * height,
                   x1: boxes[4 * i + 2] * width, y1: boxes[4 * i + 3] * height });
    }
  }
  return found.sort((a, b) => b.score - a.score);
}

function area(b) {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

function iou(a, b) {
  const inter = area({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1),
                       y1: Math.min(a.y1, b.y1) });
  return inter / (area(a) + area(b) - inter || 1);
}

// hard non-maximum suppression: a box overlapping a better kept one by more than NMS_IOU goes
function suppress(sorted) {
  const kept = [];
  for (const box of sorted) if (kept.every((k) => iou(k, box) <= NMS_IOU)) kept.push(box);
  return kept;
}

// the square around a face box, kept inside the frame
function target(box, width, height) {
  const side = Math.min(SIDE_PER_FACE * Math.max(box.x1 - box.x0, box.y1 - box.y0), width, height);
  const cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2;
  return { x: clamp(cx - side / 2, 0, width - side), y: clamp(cy - side / 2, 0, height - side), side };
}

function follow(current, wanted) {
  if (current === null) return wanted;
  const moved = Math.max(Math.abs(wanted.x - current.x), Math.abs(wanted.y - current.y),
                         Math.abs(wanted.side - current.side));
  if (moved < DEAD_ZONE * current.side) return current;
  const step = (a, b) => a + FOLLOW * (b - a);
  return { x: step(current.x, wanted.x), y: step(current.y, wanted.y), side: step(current.side, wanted.side) };
}

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}
