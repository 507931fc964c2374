// The nerco-webgpu demo page. Everything runs in this page on the user's GPU: decoding
// (exact bytes, no colour management), enhancement, edge views, the weights converter.
//
// URL parameters (for development and the browser tests):
//   ?weights=<url>   a .safetensors to use as the "default" weights
//   ?image=<url>     the first image (default: the bundled sample)
//   ?maxSide=<n>     preselect the working size
import * as nerco from '../dist/browser/nerco-webgpu.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const SAMPLE_URL = new URL('../samples/dark-street.png', import.meta.url);

const state = {
  device: null,
  model: null,
  /** 'default' or 'files': what the current model came from. */
  weightsKind: 'default',
  original: null, // ImageBitmap as decoded
  name: 'image',
  input: null, // GPUTexture at the working size
  output: null, // GPUTexture, the enhanced image
  coldSizes: new Set(), // sizes this model has already run at (the next run there is warm)
  busy: false,
  downloadUrl: null,
};

function setStatus(text, kind = 'busy') {
  $('status').textContent = text;
  document.body.dataset.state = kind;
}

function fail(e) {
  console.error(e);
  const message = e && e.message ? e.message : String(e);
  setStatus(`${e && e.name && e.name !== 'Error' ? e.name + ': ' : ''}${message}`, 'error');
}

const ms = (t) => (t >= 10_000 ? `${(t / 1000).toFixed(1)} s` : `${t.toFixed(0)} ms`);

function showNoWebGPU(message) {
  $('no-webgpu-message').textContent = message;
  $('no-webgpu').hidden = false;
  $('app').hidden = true;
  document.body.dataset.state = 'no-webgpu';
}

function updateButtons() {
  $('enhance').disabled = state.busy || !state.model || !state.input;
  $('sample').disabled = state.busy;
  $('download-weights').disabled = state.busy || !state.model;
}

/** Runs an async UI action with the page marked busy; errors go to the status line. */
async function busy(fn) {
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.busy = 'true';
  updateButtons();
  try {
    await fn();
  } catch (e) {
    fail(e);
  } finally {
    state.busy = false;
    document.body.dataset.busy = 'false';
    updateButtons();
  }
}

// ---------------------------------------------------------------------------------------------
// Weights

function describeWeights(model) {
  const w = model.weights;
  let n = 0;
  for (const net of [w.ga, w.pre, w.h]) for (const t of net.tensors.values()) n += t.data.length;
  return `G_A ngf ${w.ga.config.ngf}×${w.ga.config.nBlocks} blocks, Pre ngf ${w.pre.config.ngf}, netH ngf ${w.h.config.ngf}; ${(n / 1e6).toFixed(2)} M parameters`;
}

async function useModel(load, kind, label) {
  setStatus(`Loading weights (${label})…`);
  const t0 = performance.now();
  const model = await load();
  const dt = performance.now() - t0;
  state.model?.destroy(); // the device is ours, not the model's: it stays
  state.model = model;
  state.weightsKind = kind;
  state.coldSizes.clear();
  $('t-weights').textContent = ms(dt);
  $('t-cold').textContent = '–';
  $('t-warm').textContent = '–';
  $('weights-info').textContent = `${label}: ${describeWeights(model)}`;
  $('convert').hidden = false;
  clearResult();
  await drawEdges();
  setStatus('Ready: press Enhance.', 'ready');
}

async function loadDefaultWeights() {
  const url = params.get('weights');
  try {
    await useModel(() => nerco.loadNeRCo(url ? new URL(url, location.href) : undefined, { device: state.device }), 'default', url ? url.split('/').pop() : 'embedded default');
  } catch (e) {
    if (e.code === 'IO') {
      $('weights-info').textContent = '';
      setStatus(`The default weights could not be loaded (${e.message}). Choose your own weights under Weights → your files.`, 'error');
      return;
    }
    throw e;
  }
}

async function loadWeightFiles(fileList) {
  const files = await Promise.all([...fileList].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const label = files.map((f) => f.name).join(', ');
  // Parse here (strict: every key and shape is checked), then hand the parsed weights over.
  await useModel(async () => nerco.loadNeRCo(nerco.parseNeRCoWeights(files), { device: state.device }), 'files', label);
}

function downloadWeights() {
  const fp16 = $('fp16').checked;
  const bytes = nerco.weightsToSafetensors(state.model.weights, { fp16 });
  saveBlob(new Blob([bytes], { type: 'application/octet-stream' }), `nerco${fp16 ? '-fp16' : ''}.safetensors`);
}

function saveBlob(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Images

async function setImage(blob, name) {
  setStatus(`Decoding ${name}…`);
  // Stored pixel values: no colour management, no premultiplication, no EXIF rotation (as the reference).
  const bitmap = await nerco.decodeImage(blob);
  state.original?.close();
  state.original = bitmap;
  state.name = name.replace(/\.[^.]*$/, '') || 'image';
  await prepareInput();
}

async function loadImageUrl(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}`);
  await setImage(await res.blob(), decodeURIComponent(new URL(url, location.href).pathname.split('/').pop()));
}

/** The working-size texture from the decoded image, drawn as "before". */
async function prepareInput() {
  const src = state.original;
  if (!src) return;
  const maxSide = Number($('max-side').value);
  let bitmap = src;
  if (maxSide > 0 && Math.max(src.width, src.height) > maxSide) {
    const s = maxSide / Math.max(src.width, src.height);
    bitmap = await createImageBitmap(src, {
      resizeWidth: Math.max(1, Math.round(src.width * s)),
      resizeHeight: Math.max(1, Math.round(src.height * s)),
      resizeQuality: 'high',
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
  }
  const { texture } = await nerco.textureFromSource(state.device, bitmap);
  if (bitmap !== src) bitmap.close();
  state.input?.destroy();
  state.input = texture;
  clearResult();
  nerco.drawToCanvas(state.device, texture, $('before'));
  const working = `${texture.width}×${texture.height}`;
  $('image-info').textContent = `${state.name}: ${src.width}×${src.height}${working !== `${src.width}×${src.height}` ? `, working at ${working}` : ''}`;
  await drawEdges();
  if (state.model) setStatus('Ready: press Enhance.', 'ready');
}

function clearResult() {
  state.output?.destroy();
  state.output = null;
  $('after').hidden = true;
  $('divider').hidden = true;
  $('download').hidden = true;
  for (const id of ['edges-after']) {
    const c = $(id);
    c.width = 1;
    c.height = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Enhancement

async function timedEnhance() {
  const t0 = performance.now();
  const out = await nerco.enhance(state.model, state.input);
  await state.device.queue.onSubmittedWorkDone();
  return { out, t: performance.now() - t0 };
}

async function enhance() {
  const { width, height } = state.input;
  const size = `${width}×${height}`;
  const cold = !state.coldSizes.has(size);
  setStatus(cold ? `Enhancing ${size} (first run at this size: creating the GPU pipelines)…` : `Enhancing ${size}…`);
  let { out, t } = await timedEnhance();
  let summary;
  if (cold) {
    state.coldSizes.add(size);
    $('t-cold').textContent = ms(t);
    summary = `cold ${ms(t)}`;
    if ($('warm').checked) {
      setStatus(`Enhancing ${size} again (warm)…`);
      out.destroy();
      ({ out, t } = await timedEnhance());
      $('t-warm').textContent = ms(t);
      summary += `, warm ${ms(t)}`;
    }
  } else {
    $('t-warm').textContent = ms(t);
    summary = `warm ${ms(t)}`;
  }
  state.output?.destroy();
  state.output = out;
  nerco.drawToCanvas(state.model, out, $('after'));
  $('after').hidden = false;
  $('divider').hidden = false;
  await drawEdges();
  const blob = await nerco.textureToBlob(state.model, out);
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(blob);
  $('download').href = state.downloadUrl;
  $('download').download = `${state.name}-enhanced.png`;
  $('download').hidden = false;
  setStatus(`Enhanced ${size}: ${summary}.`, 'done');
}

async function drawEdges() {
  const kind = document.querySelector('input[name="edges"]:checked').value;
  const target = state.model ?? state.device;
  for (const [texture, id] of [[state.input, 'edges-before'], [state.output, 'edges-after']]) {
    if (!texture) continue;
    const e = await nerco.edges(target, texture, kind);
    nerco.drawToCanvas(state.device, e, $(id));
    e.destroy(); // after the submit: WebGPU keeps it until the draw is done
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function wire() {
  $('image-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    if (f) busy(() => setImage(f, f.name));
    e.target.value = '';
  });
  $('sample').addEventListener('click', () => busy(() => loadImageUrl(SAMPLE_URL)));
  $('max-side').addEventListener('change', () => busy(prepareInput));
  $('enhance').addEventListener('click', () => busy(enhance));
  for (const r of document.querySelectorAll('input[name="edges"]')) r.addEventListener('change', () => busy(drawEdges));
  for (const r of document.querySelectorAll('input[name="weights"]')) {
    r.addEventListener('change', () => {
      const files = r.value === 'files';
      $('weights-files').hidden = !files;
      if (!files && state.weightsKind !== 'default') busy(loadDefaultWeights);
    });
  }
  $('weights-input').addEventListener('change', (e) => {
    const list = e.target.files;
    if (list.length) busy(() => loadWeightFiles(list));
    e.target.value = '';
  });
  $('download-weights').addEventListener('click', () => busy(async () => downloadWeights()));
  $('slider').addEventListener('input', (e) => $('compare').style.setProperty('--split', `${e.target.value}%`));

  let depth = 0;
  window.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; $('drop').hidden = false; });
  window.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; $('drop').hidden = true; } });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    $('drop').hidden = true;
    const f = [...(e.dataTransfer?.files ?? [])].find((x) => x.type.startsWith('image/')) ?? e.dataTransfer?.files[0];
    if (f) busy(() => setImage(f, f.name));
  });
}

async function start() {
  if (!navigator.gpu) {
    showNoWebGPU('This browser does not expose WebGPU (navigator.gpu is missing).' + (window.isSecureContext ? '' : ' This page is not a secure context either.'));
    return;
  }
  let acquired;
  try {
    acquired = await nerco.acquireDevice();
  } catch (e) {
    showNoWebGPU(e.message);
    return;
  }
  state.device = acquired.device;
  state.device.lost.then((info) => {
    if (info.reason !== 'destroyed') setStatus(`The GPU device was lost (${info.message || info.reason}). Reload the page.`, 'error');
  });
  $('adapter').textContent = `GPU: ${acquired.adapterName}`;
  const maxSide = params.get('maxSide');
  if (maxSide && [...$('max-side').options].some((o) => o.value === maxSide)) $('max-side').value = maxSide;
  wire();
  await busy(async () => {
    await loadImageUrl(params.get('image') ? new URL(params.get('image'), location.href) : SAMPLE_URL);
    await loadDefaultWeights();
  });
}

start().catch(fail);
