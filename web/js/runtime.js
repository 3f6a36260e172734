// Which ONNX Runtime Web backend runs, and why; one inference session per (model, size).
//   WebGPU where the browser gives a hardware adapter; else WASM with threads when the page is cross-origin isolated
//   (SharedArrayBuffer needs the COOP/COEP headers that `python -m web` sends); else WASM on one thread.

const params = new URLSearchParams(location.search);

export async function chooseBackend() {
  // ?backend=wasm: the benchmark measures WASM on a machine with a GPU; ?backend=webgpu: WebGPU even on a software
  // adapter (the tests check the WebGPU path on SwiftShader, far slower than WASM)
  const forced = params.get("backend");
  let noGpu = "no WebGPU adapter";
  if (forced !== "wasm" && navigator.gpu) {
    try {
      const adapter = await navigator.gpu.requestAdapter();
      const software = adapter && isSoftware(adapter);
      if (adapter && (!software || forced === "webgpu")) {
        const ort = await import("../ort/ort.webgpu.min.mjs");
        ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
        return { ort, name: "webgpu", why: software ? "forced by ?backend=webgpu on a software adapter: slow"
                                                    : "the browser has a WebGPU adapter" };
      }
      if (software) noGpu = "the only WebGPU adapter is a software one, slower than WebAssembly";
    } catch (e) {
      console.warn("WebGPU adapter request failed", e);
    }
  }
  const ort = await import("../ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
  // inference in ONNX Runtime's worker: the page's own thread stays free to draw, read the camera and answer
  ort.env.wasm.proxy = params.get("proxy") !== "0";
  const cores = navigator.hardwareConcurrency || 1;
  const wanted = Number(params.get("threads")) || Math.min(4, cores);
  if (!crossOriginIsolated || typeof SharedArrayBuffer === "undefined") {
    ort.env.wasm.numThreads = 1;
    return { ort, name: "wasm, 1 thread", why: `${noGpu}; the page is not cross-origin isolated (the ` +
             "server sends no COOP/COEP headers), so WebAssembly threads are off" };
  }
  ort.env.wasm.numThreads = wanted;
  return { ort, name: `wasm, ${wanted} thread${wanted > 1 ? "s" : ""}`,
           why: `${noGpu}; cross-origin isolated, ${cores} cores` };
}

// A fallback adapter (SwiftShader in Chromium, llvmpipe elsewhere) runs the GPU's work on the CPU, many times slower
// than WebAssembly: never chosen unless forced.
function isSoftware(adapter) {
  const info = adapter.info || {};
  return Boolean(info.isFallbackAdapter || adapter.isFallbackAdapter) ||
    /swiftshader|llvmpipe|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
}

export class Sessions {
  constructor(backend) {
    this.backend = backend;
    this.cache = new Map();
  }

  // The session for a model file, created once. A file that fails to load throws an Error naming it.
  async get(url) {
    if (!this.cache.has(url)) {
      const { ort, name } = this.backend;
      const providers = name === "webgpu" ? ["webgpu", "wasm"] : ["wasm"];
      const made = ort.InferenceSession.create(url, { executionProviders: providers, graphOptimizationLevel: "all" })
        .catch((e) => {
          this.cache.delete(url);
          throw new Error(`${url.split("/").pop()}: the model could not be loaded (${firstLine(e)})`);
        });
      this.cache.set(url, made);
    }
    return this.cache.get(url);
  }
}

// canvas pixels in, canvas pixels out: the graph takes RGBA uint8 and the strength, and gives RGBA uint8
export async function cartoonise(session, ort, imageData, strength) {
  const { width, height, data } = imageData;
  const rgba = new ort.Tensor("uint8", new Uint8Array(data.buffer, data.byteOffset, data.length),
                              [1, height, width, 4]);
  const out = await session.run({ rgba, strength: new ort.Tensor("float32", Float32Array.of(strength), [1]) });
  const pixels = out.cartoon.data;
  return new ImageData(new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.length), width, height);
}

export function firstLine(e) {
  return String(e && e.message ? e.message : e).split("\n")[0].slice(0, 200);
}
