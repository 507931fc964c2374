// Module worker for the browser tests: loads a model from a URL, enhances an ImageBitmap drawn
// onto an OffscreenCanvas, and replies with the pixels and an ImageBitmap made by toImageBitmap.
import * as nerco from '/dist/browser/nerco-webgpu.js';

self.onmessage = async ({ data }) => {
  let stage = 'start';
  try {
    const { weightsUrl, bitmap } = data;
    stage = 'load';
    const model = await nerco.loadNeRCo(new URL(weightsUrl, self.location.href));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    stage = 'enhance';
    const out = await nerco.enhance(model, canvas);
    stage = 'read';
    const pixels = (await nerco.readTexturePixels(model, out)).data;
    stage = 'toImageBitmap';
    const shown = await nerco.toImageBitmap(model, out);
    out.destroy();
    model.destroy();
    self.postMessage({ ok: true, pixels, shown }, [pixels.buffer, shown]);
  } catch (e) {
    self.postMessage({ ok: false, error: `${stage}: ${e.name}: ${e.message}` });
  }
};
