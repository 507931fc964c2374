// NeRCo NRN, exact fast form (NERCO.md §4.3): pre_A = MLP(ReLU(Conv3x3(feat))) with every layer fused.
//
// A workgroup owns TILE consecutive raster pixels. Its hidden vectors live in workgroup memory as
// [channel][pixel] (TILE·MAX_WIDTH floats, ≤ 16 KiB), so no 256-channel map ever reaches global
// memory. Invocation (t, g) computes outputs g·OB … g·OB+OB−1 of every layer for pixel t. The TILE
// pixels of one output group sit in neighbouring invocations: they read the same weights (uniform
// loads, broadcast on SIMD CPUs, L1 hits on GPUs) and neighbouring hidden values (no bank conflicts).
// Each input value read is reused for OB accumulators (vec4 weights, repacked on the host).
//
// Defines: OB (outputs per invocation, a multiple of 4), TILE (pixels per workgroup), GROUPS
// (output groups: GROUPS·OB ≥ every hidden width), MAX_WIDTH (= GROUPS·OB).
//
// Weights (one buffer of vec4, offsets in vec4 units, see src/kernels/nrn-weights.ts):
//   layer 0 (conv)  [group][c][tap = ky·3+kx][OB]     bias: convBias[outPadded] (per rc pair)
//   hidden layer l  [group][k < inWidth][OB]          bias at layerTable[l].w, [outPadded]
//   last layer      [k < inWidth][4] (3 outputs + 0)  bias at layerTable[last].w, one vec4
// layerTable[l] = (inWidth, outPadded, weightOffset, biasOffset); for layer 0 inWidth is the number
// of feature channels.

const OB4 = OB / 4u;

struct Params {
  height: u32,
  width: u32,
  // height·width
  pixels: u32,
  // Tiles per row of the (possibly 2-D) dispatch.
  tilePitch: u32,
  // Linear layers, the first (folded into the conv) and the last included.
  numLayers: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<vec4f>;
@group(0) @binding(3) var<storage, read> convBias: array<vec4f>;
@group(0) @binding(4) var<storage, read> layerTable: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> preA: array<f32>;

var<workgroup> hidden: array<f32, TILE * MAX_WIDTH>;

fn storeHidden(g: u32, t: u32, acc: array<vec4f, OB4>) {
  for (var j = 0u; j < OB4; j++) {
    let v = max(acc[j], vec4f(0.0));
    let row = (g * OB + 4u * j) * TILE + t;
    hidden[row] = v.x;
    hidden[row + TILE] = v.y;
    hidden[row + 2u * TILE] = v.z;
    hidden[row + 3u * TILE] = v.w;
  }
}

fn storeOutput(p: u32, v: vec4f) {
  preA[p] = v.x;
  preA[params.pixels + p] = v.y;
  preA[2u * params.pixels + p] = v.z;
}

@compute @workgroup_size(TILE, GROUPS)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let g = lid.y;
  let p = (wid.y * params.tilePitch + wid.x) * TILE + t;
  let live = p < params.pixels;
  // Pixels past the end compute on a valid pixel and never store: every invocation must reach
  // every barrier.
  let pc = min(p, params.pixels - 1u);
  let y = pc / params.width;
  let x = pc - y * params.width;

  // The 9 taps of the zero-padded 3×3 window: where each reads, and whether it is inside.
  var tapOffset: array<u32, 9>;
  var tapInside: array<bool, 9>;
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      let sy = y + ky;  // source row + 1 (unsigned)
      let sx = x + kx;
      let inside = sy >= 1u && sy <= params.height && sx >= 1u && sx <= params.width;
      tapInside[ky * 3u + kx] = inside;
      tapOffset[ky * 3u + kx] = select(pc, (sy - 1u) * params.width + (sx - 1u), inside);
    }
  }

  // Layer 0: the 3×3 convolution (the unfold columns of the first Linear) + ReLU.
  let first = layerTable[0];
  let channels = first.x;
  var acc: array<vec4f, OB4>;
  let inGroup0 = g * OB < first.y;
  if (inGroup0) {
    for (var j = 0u; j < OB4; j++) { acc[j] = convBias[g * OB4 + j]; }
    var wi = first.z + g * channels * 9u * OB4;
    var plane = 0u;
    for (var c = 0u; c < channels; c++) {
      for (var tap = 0u; tap < 9u; tap++) {
        let v = select(0.0, feat[plane + tapOffset[tap]], tapInside[tap]);
        for (var j = 0u; j < OB4; j++) { acc[j] = fma(weights[wi + j], vec4f(v), acc[j]); }
        wi += OB4;
      }
      plane += params.pixels;
    }
  }
  if (params.numLayers == 1u) {
    // A one-layer MLP: the conv is the output layer (no ReLU).
    if (g == 0u && live) { storeOutput(p, acc[0]); }
    return;
  }
  if (inGroup0) { storeHidden(g, t, acc); }
  workgroupBarrier();

  // Hidden layers 1 … numLayers−2: Linear + ReLU, in place in workgroup memory.
  for (var l = 1u; l + 1u < params.numLayers; l++) {
    let e = layerTable[l];
    let inGroup = g * OB < e.y;
    if (inGroup) {
      for (var j = 0u; j < OB4; j++) { acc[j] = weights[e.w + g * OB4 + j]; }
      var wi = e.z + g * e.x * OB4;
      for (var k = 0u; k < e.x; k++) {
        let v = hidden[k * TILE + t];
        for (var j = 0u; j < OB4; j++) { acc[j] = fma(weights[wi + j], vec4f(v), acc[j]); }
        wi += OB4;
      }
    }
    workgroupBarrier();
    if (inGroup) { storeHidden(g, t, acc); }
    workgroupBarrier();
  }

  // Output layer: 3 values per pixel, no activation. One output group is enough (it is tiny).
  if (g == 0u && live) {
    let e = layerTable[params.numLayers - 1u];
    var out = weights[e.w];
    for (var k = 0u; k < e.x; k++) { out = fma(weights[e.z + k], vec4f(hidden[k * TILE + t]), out); }
    storeOutput(p, out);
  }
}
