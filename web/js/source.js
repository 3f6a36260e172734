// The page's inputs: the webcam (getUserMedia) and a photo (file chooser or drop), drawn square into a canvas.

export async function openCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("this browser gives pages no camera access (it needs https or localhost)");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } },
                                                         audio: false });
  } catch (e) {
    const why = {
      NotAllowedError: "camera permission was refused",
      NotFoundError: "no camera was found",
      NotReadableError: "the camera is in use by another program",
      OverconstrainedError: "no camera fits the request",
    }[e.name] || `the camera could not be opened (${e.name || e})`;
    throw new Error(why);
  }
  video.srcObject = stream;
  await video.play();
  return stream;
}

export async function readPhoto(file) {
  if (!file.type.startsWith("image/")) {
    throw new Error(`${file.name}: not an image (${file.type || "unknown type"})`);
  }
  try {
    return await createImageBitmap(file);
  } catch (e) {
    throw new Error(`${file.name}: the image could not be decoded`);
  }
}

// A square of a source ({x, y, side} in its pixels: the framed face, or the centre), drawn at size × size.
export function drawSquare(context, source, square, size) {
  context.drawImage(source, square.x, square.y, square.side, square.side, 0, 0, size, size);
}
