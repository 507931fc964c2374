// Loaded by harness.html: exposes the browser bundle as window.nerco and small helpers as
// window.H for the tests' page.evaluate calls.
import * as nerco from '/dist/browser/nerco-webgpu.js';

const models = new Map();

const H = {
  async bytes(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  },

  /** One model per weights key, created once. */
  model(key, make) {
    if (!models.has(key)) models.set(key, make());
    return models.get(key);
  },

  async decode(url) {
    const res = await fetch(url);
    return nerco.decodeImage(await res.blob());
  },

  /** Base64 of bytes: a compact way to hand pixels to Node. */
  b64(bytes) {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let s = '';
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  },

  async pixels(device, texture) {
    return H.b64((await nerco.readTexturePixels(device, texture)).data);
  },

  /** Pixels of an ImageBitmap/canvas as a 2d canvas sees them (alpha 255 sources only). */
  canvasPixels(source) {
    const c = new OffscreenCanvas(source.width, source.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(source, 0, 0);
    return H.b64(ctx.getImageData(0, 0, source.width, source.height, { colorSpace: 'srgb' }).data);
  },

  loadImageElement(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`<img> could not load ${url}`));
      img.src = url;
    });
  },

  /** Runs the bundle in a module worker; resolves with the worker's reply. */
  inWorker(message, transfer = []) {
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      w.onmessage = (e) => { w.terminate(); resolve(e.data); };
      w.onerror = (e) => { w.terminate(); reject(new Error(`worker: ${e.message}`)); };
      w.postMessage(message, transfer);
    });
  },
};

window.nerco = nerco;
window.H = H;
window.harnessReady = true;
