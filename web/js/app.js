// The live page: wires the controls, the inputs and the model; one frame in flight at a time.
import { centreSquare, FaceFraming } from "./framing.js";
import { cartoonise, chooseBackend, firstLine, Sessions } from "./runtime.js";
import { drawSquare, openCamera, readPhoto } from "./source.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const input = $("input").getContext("2d", { willReadFrequently: true });  // read every frame: keep it on the CPU
const output = $("cartoon").getContext("2d");
const video = document.createElement("video");
video.muted = true;
video.playsInline = true;

const state = { manifest: null, backend: null, sessions: null, source: null, stream: null, running: false,
                done: [], framing: undefined,  // framing: a FaceFraming, null when the detector failed to load
                chosen: params.has("model") };  // a model the person picked: kept for camera and photos alike
const NO_FACE = "no face found: the centre square is cartoonised";

function say(message) {  // errors and notes: one line in #status, never only in the console
  $("status").textContent = message;
}
window.addEventListener("error", (e) => say(`error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => say(`error: ${firstLine(e.reason)}`));

function size() {
  return Number($("size").value);
}

function modelUrl() {
  const model = state.manifest.models.find((m) => m.name === $("model").value);
  const file = model && model.sizes[String(size())];
  if (!file) throw new Error(`${$("model").value} has no ${size()}² export (python -m web --sizes ${size()})`);
  return new URL(`../${file}`, import.meta.url).href;
}

// The face detector, loaded on first use; a file that fails to load is said once, and the centre square is used.
async function faceFraming() {
  if (state.framing === undefined) {
    try {
      if (!state.manifest.detector) throw new Error("models.json names no face detector (python -m web builds it)");
      const url = new URL(`../${state.manifest.detector}`, import.meta.url).href;
      state.framing = new FaceFraming(await state.sessions.get(url), state.backend.ort);
    } catch (e) {
      state.framing = null;
      say(`${firstLine(e)}: faces are not framed, the centre square is cartoonised`);
    }
  }
  return state.framing;
}

// the square of the source the model sees: the framed face (#framing), else the centre
async function square(src) {
  const width = src.width(), height = src.height();
  const framing = $("framing").checked ? await faceFraming() : null;
  if (!framing) return centreSquare(width, height);
  const framed = await framing.frame(src.element, width, height);
  if (!framed.face) say(NO_FACE);
  else if ($("status").textContent === NO_FACE) say("");  // a face again: framing resumes
  return framed;
}

// the input square -> the cartoon canvas; returns once drawn
async function renderOnce() {
  const s = size();
  for (const canvas of [$("input"), $("cartoon")]) {
    if (canvas.width !== s) canvas.width = canvas.height = s;
  }
  const src = state.source;
  drawSquare(input, src.element, await square(src), s);
  const session = await state.sessions.get(modelUrl());
  const cartoon = await cartoonise(session, state.backend.ort, input.getImageData(0, 0, s, s),
                                   Number($("strength").value));
  output.putImageData(cartoon, 0, 0);
  $("download").disabled = false;
  const now = performance.now();
  state.done = state.done.filter((t) => now - t < 3000).concat(now);
  const span = (state.done.at(-1) - state.done[0]) / 1000;
  $("fps").textContent = state.done.length > 1 ? ((state.done.length - 1) / span).toFixed(1) : "0";
}

// a still photo: drawn once per change of photo, model, size or strength
async function render() {
  if (!state.source) return;
  try {
    await renderOnce();
  } catch (e) {
    say(firstLine(e));
  }
}

// the camera: the newest frame each time the last cartoon is drawn. The model takes longer than a camera frame, so
// a new frame is nearly always there: wait for one only when the video has not moved on (no stale queue, no idle).
async function loop() {
  if (state.running) return;
  state.running = true;
  const nextFrame = () => new Promise((resolve) =>
    video.requestVideoFrameCallback ? video.requestVideoFrameCallback(() => resolve()) : requestAnimationFrame(resolve));
  let shown = -1;
  try {
    while (state.stream && state.source && state.source.element === video) {
      if (video.currentTime === shown) await nextFrame();
      shown = video.currentTime;
      await renderOnce();
    }
  } catch (e) {
    say(firstLine(e));
  } finally {
    state.running = false;
  }
}

async function startCamera() {
  try {
    state.stream = await openCamera(video);
  } catch (e) {
    say(`${firstLine(e)}: drop or choose a photo instead`);
    return;
  }
  state.source = { element: video, width: () => video.videoWidth, height: () => video.videoHeight };
  offerDefault(state.manifest.models.find((m) => m.camera));  // the real-time model, where the page has it
  $("camera").textContent = "Stop the camera";
  say("");
  loop();
}

function stopCamera() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  $("camera").textContent = "Start the camera";
}

async function usePhoto(file) {
  try {
    const bitmap = await readPhoto(file);
    stopCamera();
    offerDefault(state.manifest.models[0]);  // a still photo: the best model, not the fastest
    if (state.framing) state.framing.square = null;  // a new picture is framed afresh (and detected), not followed
    state.source = { element: bitmap, width: () => bitmap.width, height: () => bitmap.height };
    say("");
    await render();
  } catch (e) {
    say(firstLine(e));  // the previous picture stays: the page keeps working
  }
}

function offerModels() {
  const select = $("model");
  for (const m of state.manifest.models) select.add(new Option(m.name, m.name));
  for (const m of state.manifest.unavailable) {
    const option = new Option(`${m.name} (not available)`, m.name);
    option.disabled = true;
    option.title = m.why;
    select.add(option);
  }
  const wanted = params.get("model");
  if (wanted && !state.manifest.models.some((m) => m.name === wanted)) {
    const missing = state.manifest.unavailable.find((m) => m.name === wanted);
    say(missing ? `${wanted}: not available here (${missing.why})` : `${wanted}: no such model on this page`);
  } else if (wanted) {
    select.value = wanted;
  }
  if (params.get("size")) $("size").value = params.get("size");
  if (params.get("framing") === "0") $("framing").checked = false;
  showLicence();
}

function offerDefault(model) {  // the default for this source, unless the person picked a model
  if (state.chosen || !model) return;
  $("model").value = model.name;
  showLicence();
}

function showLicence() {
  const m = state.manifest.models.find((x) => x.name === $("model").value);
  $("licence").textContent = m ? `${m.name}: ${m.about}. Licence: ${m.licence}.` : "";
}

function wire() {
  $("camera").onclick = () => (state.stream ? stopCamera() : startCamera());
  $("photo").onchange = (e) => e.target.files[0] && usePhoto(e.target.files[0]);
  $("model").onchange = () => { state.chosen = true; showLicence(); render(); };
  $("size").onchange = render;
  $("framing").onchange = () => { if ($("status").textContent === NO_FACE) say(""); render(); };
  $("strength").oninput = () => { $("strength_value").textContent = $("strength").value; render(); };
  $("download").onclick = () => $("cartoon").toBlob((blob) => {
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "cartoon.png" });
    a.click();
    URL.revokeObjectURL(a.href);
  }, "image/png");
  const views = $("views");
  views.ondragover = (e) => { e.preventDefault(); views.classList.add("dragging"); };
  views.ondragleave = () => views.classList.remove("dragging");
  views.ondrop = (e) => {
    e.preventDefault();
    views.classList.remove("dragging");
    if (e.dataTransfer.files[0]) usePhoto(e.dataTransfer.files[0]);
  };
}

async function main() {
  if (typeof WebAssembly !== "object") {
    say("this browser has no WebAssembly: the model cannot run here");
    return;
  }
  try {
    state.manifest = await (await fetch("models.json")).json();
  } catch (e) {
    say("models.json could not be read: build the page with python -m web");
    return;
  }
  offerModels();
  wire();
  state.backend = await chooseBackend();
  state.sessions = new Sessions(state.backend);
  $("backend").textContent = state.backend.name;
  $("why").textContent = `(${state.backend.why})`;
  if (state.backend.name === "wasm, 1 thread" && !$("status").textContent) {
    say("WebAssembly threads are off here (the page is not cross-origin isolated): one thread, slower");
  }
  if (params.get("camera") === "1") startCamera();
}

main();
