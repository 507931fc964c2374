// NeRCo NRN, exact fast form (NERCO.md §4.3), shaped for CPU adapters with subgroups:
// pre_A = MLP(ReLU(Conv3x3(feat))), every layer fused, one pixel tile per invocation.
// Needs `enable subgroups;` and subgroups of ≥ 8 lanes.
//
// Why (measured on lavapipe, docs/PERFORMANCE.md): there a storage or workgroup-memory load inside
// a loop is done lane by lane with bounds checks, and a workgroup barrier is costly; a subgroup
// shuffle is one vector permute. So each invocation carries its own P pixels (a row segment)
// through every layer, the hidden vectors live in its private memory (no workgroup memory, no
// barriers), and the weights, the same for every lane, are loaded once per group of 8 lanes
// (each lane a different eighth) and handed around by shuffles. Per input value and output block
// of CO channels a lane then does P·CO multiply-adds for CO shuffles and CO/8 loads.
//
// Defines: P (pixels per invocation, a row segment), CO (outputs per block, a multiple of 8),
// MAX_WIDTH (widest hidden layer, a multiple of CO), WG (invocations per workgroup, multiple of 8).
//
// Weights (f32, offsets in floats; packed by src/kernels/nrn-sg.ts):
//   layer 0 (conv)  [block][c][tap = ky·3+kx][CO]    bias: convBias [outPadded] (per image size)
//   hidden layer l  [block][k < in][CO]              bias at layerTable[l].w, [outPadded]
//   last layer      [k < in][4] (3 outputs + 0)      bias at layerTable[last].w, 4 floats
// layerTable[l] = (in, outPadded, weightOffset, biasOffset); layer 0's `in` is the channel count.

struct Params {
  height: u32,
  width: u32,
  // height·width
  pixels: u32,
  // Row segments of P pixels per row, in all (height·tilesX), and invocations per dispatch row.
  tilesX: u32,
  tiles: u32,
  pitch: u32,
  // Linear layers, the first (folded into the conv) and the last included.
  numLayers: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> convBias: array<f32>;
@group(0) @binding(4) var<storage, read> layerTable: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> preA: array<f32>;

const WX = P + 2;
// Conv weights of one input channel and output block: 9·CO floats, 9·CO/8 per lane.
const CW = 9 * CO / 8;

var<private> lane0: u32;
// acc[p·CO + o]: pixel p, output o of the current block.
var<private> acc: array<f32, P * CO>;
// This lane's share of the weights being used (weight i is in lane i % 8 of wreg[i / 8]).
var<private> wreg: array<f32, CW>;
// The 3 × (P+2) input window of one channel.
var<private> win: array<array<f32, WX>, 3>;
// Hidden vectors, two layers' worth: hid[base + k·P + p].
var<private> hid: array<f32, 2 * MAX_WIDTH * P>;

fn sharedWeight(i: i32) -> f32 {
  return subgroupShuffle(wreg[i / 8], lane0 + u32(i % 8));
}

// One conv tap (ky, kx) of the current channel into the block's accumulators. Called with
// constants, so that every index below is a constant after inlining.
fn convTap(ky: i32, kx: i32) {
  for (var o = 0; o < CO; o++) {
    let w = sharedWeight((ky * 3 + kx) * CO + o);
    for (var p = 0; p < P; p++) { acc[p * CO + o] = fma(w, win[ky][p + kx], acc[p * CO + o]); }
  }
}

fn setBias(src: u32) {
  // Same address for every lane: one load per output and lane is still cheaper than the layer.
  for (var o = 0; o < CO; o++) {
    let b = weights[src + u32(o)];
    for (var p = 0; p < P; p++) { acc[p * CO + o] = b; }
  }
}

// ReLU'd block → hid[base + (o0 + o)·P + p].
fn storeHidden(base: u32) {
  for (var o = 0; o < CO; o++) {
    for (var p = 0; p < P; p++) { hid[base + u32(o * P + p)] = max(acc[p * CO + o], 0.0); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(subgroup_invocation_id) sgi: u32) {
  // Invocations past the last segment redo it and store nothing: every lane stays in the loops
  // (the shuffles need the whole group).
  let tRaw = gid.y * params.pitch + gid.x;
  let live = tRaw < params.tiles;
  let t = min(tRaw, params.tiles - 1u);
  let y = t / params.tilesX;
  let x0 = (t - y * params.tilesX) * P;
  lane0 = sgi & ~7u;
  let l8 = sgi & 7u;

  // Window sources: rows y−1 … y+1, columns x0−1 … x0+P; zero outside the map.
  var src: array<array<u32, WX>, 3>;
  var inside: array<array<bool, WX>, 3>;
  for (var r = 0; r < 3; r++) {
    for (var c = 0; c < WX; c++) {
      let sy = i32(y) + r - 1;
      let sx = i32(x0) + c - 1;
      inside[r][c] = sy >= 0 && sy < i32(params.height) && sx >= 0 && sx < i32(params.width);
      src[r][c] = u32(clamp(sy, 0, i32(params.height) - 1)) * params.width + u32(clamp(sx, 0, i32(params.width) - 1));
    }
  }

  // Layer 0: the 3×3 convolution (+ its per-size bias), ReLU, into hid[0 …].
  let first = layerTable[0];
  let channels = first.x;
  for (var blk = 0u; blk < first.y / u32(CO); blk++) {
    for (var o = 0; o < CO; o++) {
      let b = convBias[blk * u32(CO) + u32(o)];
      for (var p = 0; p < P; p++) { acc[p * CO + o] = b; }
    }
    var wi = first.z + blk * channels * u32(9 * CO) + l8;
    var plane = 0u;
    for (var c = 0u; c < channels; c++) {
      for (var r = 0; r < 3; r++) {
        for (var j = 0; j < WX; j++) { win[r][j] = select(0.0, feat[plane + src[r][j]], inside[r][j]); }
      }
      for (var k = 0; k < CW; k++) { wreg[k] = weights[wi + u32(8 * k)]; }
      wi += u32(9 * CO);
      plane += params.pixels;
      convTap(0, 0); convTap(0, 1); convTap(0, 2);
      convTap(1, 0); convTap(1, 1); convTap(1, 2);
      convTap(2, 0); convTap(2, 1); convTap(2, 2);
    }
    storeHidden(blk * u32(CO * P));
  }

  // Hidden layers (Linear + ReLU), alternating between the two halves of hid.
  var cur = 0u;
  for (var l = 1u; l + 1u < params.numLayers; l++) {
    let e = layerTable[l];
    let next = u32(MAX_WIDTH * P) - cur;
    for (var blk = 0u; blk < e.y / u32(CO); blk++) {
      setBias(e.w + blk * u32(CO));
      var wi = e.z + blk * e.x * u32(CO) + l8;
      for (var k = 0u; k < e.x; k++) {
        for (var i = 0; i < CO / 8; i++) { wreg[i] = weights[wi + u32(8 * i)]; }
        wi += u32(CO);
        var h: array<f32, P>;
        for (var p = 0; p < P; p++) { h[p] = hid[cur + k * u32(P) + u32(p)]; }
        for (var o = 0; o < CO; o++) {
          let w = sharedWeight(o);
          for (var p = 0; p < P; p++) { acc[p * CO + o] = fma(w, h[p], acc[p * CO + o]); }
        }
      }
      storeHidden(next + blk * u32(CO * P));
    }
    cur = next;
  }

  // Output layer: 3 values per pixel, no activation.
  let e = layerTable[params.numLayers - 1u];
  var out: array<vec4f, P>;
  let b = vec4f(weights[e.w], weights[e.w + 1u], weights[e.w + 2u], 0.0);
  for (var p = 0; p < P; p++) { out[p] = b; }
  for (var k = 0u; k < e.x; k++) {
    let w = vec4f(weights[e.z + 4u * k], weights[e.z + 4u * k + 1u], weights[e.z + 4u * k + 2u], 0.0);
    for (var p = 0; p < P; p++) { out[p] = fma(w, vec4f(hid[cur + k * u32(P) + u32(p)]), out[p]); }
  }
  for (var p = 0; p < P; p++) {
    let x = x0 + u32(p);
    if (live && x < params.width) {
      let at = y * params.width + x;
      preA[at] = out[p].x;
      preA[params.pixels + at] = out[p].y;
      preA[2u * params.pixels + at] = out[p].z;
    }
  }
}
