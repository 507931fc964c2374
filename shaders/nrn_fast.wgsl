// NeRCo NRN, exact fast form (NERCO.md §4.3): pre_A = MLP(ReLU(Conv3x3(feat))), every layer fused.
//
// A workgroup owns TILE consecutive raster pixels. Their hidden vectors live in workgroup memory
// as [channel][pixel] (MAX_WIDTH·TILE floats ≤ 16 KiB), so no hidden map ever reaches global
// memory. Invocation (pg, og) computes a register block of P pixels × Q outputs of every layer:
// per input value it loads P activations and Q weights (vec4) and does P·Q multiply-adds. Loads
// are what costs on CPU adapters (lavapipe gathers every load lane by lane inside loops) and
// what limits GPUs too, so the block is as large as registers allow. A layer's outputs stay in
// registers until every invocation has read its inputs (barrier), then replace them in place.
//
// Defines: TILE (pixels per workgroup), P (pixels per invocation, divides TILE), Q (outputs per
// invocation, a multiple of 4), GROUPS (output groups = MAX_WIDTH / Q), MAX_WIDTH.
// Workgroup: (TILE / P) × GROUPS invocations.
//
// Weights (vec4, offsets in vec4 units; packed by src/kernels/nrn-weights.ts):
//   layer 0 (conv)  [group][tap = ky·3+kx][c][Q]   bias: convBias [outPadded] (per image size)
//   hidden layer l  [group][k < in][Q]             bias at layerTable[l].w, [outPadded]
//   last layer      [k < in][4] (3 outputs + 0)    bias at layerTable[last].w, one vec4
// layerTable[l] = (in, outPadded, weightOffset, biasOffset); layer 0's `in` is the channel count.

const Q4 = Q / 4u;
// Invocations along the pixels of the tile.
const PG = TILE / P;

struct Params {
  height: u32,
  width: u32,
  // height·width
  pixels: u32,
  // Workgroups per row of the (possibly 2-D) dispatch.
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

var<workgroup> hidden: array<f32, MAX_WIDTH * TILE>;

fn storeOutput(p: u32, v: vec4f) {
  if (p < params.pixels) {
    preA[p] = v.x;
    preA[params.pixels + p] = v.y;
    preA[2u * params.pixels + p] = v.z;
  }
}

@compute @workgroup_size(PG, GROUPS)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t0 = lid.x * P;  // first pixel of this invocation within the tile
  let og = lid.y;
  let p0 = (wid.y * params.tilePitch + wid.x) * TILE + t0;
  var acc: array<array<vec4f, Q4>, P>;

  // Layer 0: the 3×3 convolution over the unfold columns of the first Linear.
  let first = layerTable[0];
  let channels = first.x;
  let writes0 = og * Q < first.y;
  for (var q = 0u; q < Q4; q++) {
    let bias = convBias[min(og * Q4 + q, first.y / 4u - 1u)];
    for (var p = 0u; p < P; p++) { acc[p][q] = bias; }
  }
  var wi = first.z + min(og, first.y / Q - 1u) * 9u * channels * Q4;
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      // Where each of the P pixels reads this tap (pixels past the end read pixel 0: they are
      // computed and dropped, so that every invocation reaches every barrier).
      var src: array<u32, P>;
      var inside: array<bool, P>;
      for (var p = 0u; p < P; p++) {
        let pix = select(0u, p0 + p, p0 + p < params.pixels);
        let y = pix / params.width;
        let x = pix - y * params.width;
        let sy = y + ky;  // source row + 1 (unsigned)
        let sx = x + kx;
        inside[p] = sy >= 1u && sy <= params.height && sx >= 1u && sx <= params.width;
        src[p] = select(0u, (sy - 1u) * params.width + (sx - 1u), inside[p]);
      }
      var plane = 0u;
      for (var c = 0u; c < channels; c++) {
        var a: array<vec4f, P>;
        for (var p = 0u; p < P; p++) { a[p] = vec4f(select(0.0, feat[plane + src[p]], inside[p])); }
        for (var q = 0u; q < Q4; q++) {
          let w = weights[wi + q];
          for (var p = 0u; p < P; p++) { acc[p][q] = fma(w, a[p], acc[p][q]); }
        }
        wi += Q4;
        plane += params.pixels;
      }
    }
  }
  if (params.numLayers == 1u) {
    // A one-layer MLP: the conv is the output layer (no ReLU); its 3 outputs are in group 0.
    if (og == 0u) {
      for (var p = 0u; p < P; p++) { storeOutput(p0 + p, acc[p][0]); }
    }
    return;
  }
  if (writes0) {
    for (var q = 0u; q < Q; q++) {
      for (var p = 0u; p < P; p++) { hidden[(og * Q + q) * TILE + t0 + p] = max(acc[p][q / 4u][q % 4u], 0.0); }
    }
  }
  workgroupBarrier();

  // Hidden layers (Linear + ReLU), in place.
  for (var l = 1u; l + 1u < params.numLayers; l++) {
    let e = layerTable[l];
    let writes = og * Q < e.y;
    let g = min(og, e.y / Q - 1u);
    for (var q = 0u; q < Q4; q++) {
      let bias = weights[e.w + g * Q4 + q];
      for (var p = 0u; p < P; p++) { acc[p][q] = bias; }
    }
    var wl = e.z + g * e.x * Q4;
    for (var k = 0u; k < e.x; k++) {
      var a: array<vec4f, P>;
      for (var p = 0u; p < P; p++) { a[p] = vec4f(hidden[k * TILE + t0 + p]); }
      for (var q = 0u; q < Q4; q++) {
        let w = weights[wl + q];
        for (var p = 0u; p < P; p++) { acc[p][q] = fma(w, a[p], acc[p][q]); }
      }
      wl += Q4;
    }
    workgroupBarrier();
    if (writes) {
      for (var q = 0u; q < Q; q++) {
        for (var p = 0u; p < P; p++) { hidden[(og * Q + q) * TILE + t0 + p] = max(acc[p][q / 4u][q % 4u], 0.0); }
      }
    }
    workgroupBarrier();
  }

  // Output layer: 3 values per pixel, no activation; output group 0 computes it.
  if (og == 0u) {
    let e = layerTable[params.numLayers - 1u];
    var out: array<vec4f, P>;
    for (var p = 0u; p < P; p++) { out[p] = weights[e.w]; }
    for (var k = 0u; k < e.x; k++) {
      let w = weights[e.z + k];
      for (var p = 0u; p < P; p++) { out[p] = fma(w, vec4f(hidden[k * TILE + t0 + p]), out[p]); }
    }
    for (var p = 0u; p < P; p++) { storeOutput(p0 + p, out[p]); }
  }
}
