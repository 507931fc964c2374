// Conv2d K×K (3 or 7; stride 1 or 2) with the input window shared through subgroup shuffles:
// input [Cin,H,W] → output [Cout,Ho,Wo]. Needs `enable subgroups;` and subgroups of ≥ 8 lanes.
//
// Why this shape (measured on lavapipe, see docs/PERFORMANCE.md): there every storage-buffer load
// inside a loop is done lane by lane with a bounds check (≈ 8 scalar loads and branches per
// 8-lane SIMD batch), uniform addresses included, while a subgroup shuffle is one vector permute.
// So each value should be loaded once per group of 8 lanes and shared: here the 8 lanes of a group
// compute the same PY×PX output tile for 8 consecutive output channels (one each). Per input
// channel the group loads the tile's input window once, spread over its lanes (NL values each),
// and every lane takes the window values it needs by shuffles; the weights differ per lane anyway
// (its own output channel), so each lane loads its 9 taps directly. Per input channel and lane:
// NL + 9 loads for 9·PX·PY multiply-adds, with the accumulators in registers. On GPUs the same
// layout gives coalesced weight loads and register-level sharing of the window.
//
// Padding is folded into the window loads (each slot's source offset is computed once per
// invocation): reflect as ReflectionPad2d (§7.1), zero padding selects 0. The instance-norm apply
// of the previous layer ((v − mean)·invStd, then ReLU) is applied to in-range values as they are
// loaded; bias and the activation are the epilogue. The weights are repacked on the host as
// [group of 8 output channels][ci][tap][lane] (Cout zero-padded to whole workgroups).
//
// Grid: x/y fold the output tiles (tile = wid.y·tilePitch + wid.x), z the workgroup's WG/8 groups
// of output channels. Workgroups past the last tile compute the last tile and store nothing (no
// early return: the shuffles need the whole subgroup).
//
// f16 storage (the model's 'f16' precision): pairs of input channels (ci, ci+1) travel as one u32
// of two f16 (unpack2x16float: ci in the low half), which halves the loads; arithmetic stays f32.
// W_F16: the weights are [group][ci/2][tap][lane] pairs. X_F16 / Y_F16: the input / output
// tensor is channel-pair packed, [C/2][H][W] u32 (the output pair (o, o+1) is assembled from the
// neighbouring lanes by a shuffle). Channels then come two at a time (Cin even; Cout even for
// Y_F16). Buffers are declared u32 and read through bitcast when they hold f32.
//
// CL = 2: each lane computes two output channels (o and o + 8 of a group of 16), so every shuffled
// window value feeds twice the multiply-adds; worth it where the window is large against the taps
// (stride 2). PY ≤ 4 then (the accumulators double). Weights: [group][ci][tap][c < CL][lane].
//
// Defines: K (3 or 7), PX (tile columns), PY (tile rows, 1–8), STRIDE (1, 2), PAD_MODE (0 none, 1 zero,
// 2 reflect), NORM (0 none, 1 IN apply, 2 IN apply + ReLU), HAS_BIAS, ACT (0 none, 1 ReLU,
// 2 tanh, 3 sigmoid), WG (invocations per workgroup, a multiple of 8), X_F16, W_F16, Y_F16,
// CL (output channels per lane, 1 or 2).
struct Params {
  cin: i32,
  inH: i32,
  inW: i32,
  cout: i32,
  outH: i32,
  outW: i32,
  pad: i32,
  // Tiles per tile row, tiles in all, and tiles per dispatch row (x workgroups).
  tilesX: i32,
  tiles: i32,
  tilePitch: i32,
  // Row bands (src/nerco/banded.ts): x holds rows inRow0 … inRow0+inH−1 of an image imgH rows
  // high, and y holds output rows outRow0 … outRow0+outH−1; padding follows the whole image.
  // Unbanded: imgH = inH, inRow0 = outRow0 = 0.
  imgH: i32,
  inRow0: i32,
  outRow0: i32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// Per input channel (mean, invStd); bound to a dummy buffer when NORM == 0.
@group(0) @binding(4) var<storage, read> stats: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> y: array<u32>;

const WX = (PX - 1) * STRIDE + K;
const WY = (PY - 1) * STRIDE + K;
const KK = K * K;
const WN = WX * WY;
// Window values per lane: slot e of the window lives in lane e % 8 of win[e / 8].
const NL = (WN + 7) / 8;

var<private> win: array<f32, NL>;
var<private> taps: array<f32, KK>;
// The second channel of a pair (f16 paths).
var<private> win2: array<f32, NL>;
var<private> taps2: array<f32, KK>;
// CL = 2: the taps of the lane's second output channel (for the pair's first and second input).
var<private> tapsB: array<f32, KK>;
var<private> tapsB2: array<f32, KK>;
var<private> e0: Row; var<private> e1: Row; var<private> e2: Row; var<private> e3: Row;
var<private> a0: Row; var<private> a1: Row; var<private> a2: Row; var<private> a3: Row;
var<private> a4: Row; var<private> a5: Row; var<private> a6: Row; var<private> a7: Row;
// The first lane (subgroup_invocation_id) of this lane's group of 8.
var<private> lane0: u32;

alias Row = array<f32, PX>;

// #include "lib/pad_source.wgsl"

fn activate(v: f32) -> f32 {
  if (ACT == 1) { return max(v, 0.0); }
  // Built-in tanh may return NaN for large |v| on some back ends; in f32 it is ±1 beyond 15.
  if (ACT == 2) { return tanh(clamp(v, -15.0, 15.0)); }
  if (ACT == 3) { return 1.0 / (1.0 + exp(-v)); }
  return v;
}

// Window row r (0 … WY−1) gathered from the group's lanes.
fn windowRow(r: i32) -> array<f32, WX> {
  var row: array<f32, WX>;
  for (var c = 0; c < WX; c++) {
    let e = r * WX + c;
    row[c] = subgroupShuffle(win[e / 8], lane0 + u32(e % 8));
  }
  return row;
}

// One kernel row (taps t0 … t0+2) applied to window row r, accumulated into an output row.
fn kernelRow(acc: ptr<private, Row>, accB: ptr<private, Row>, r: i32, t0: i32) {
  var v = windowRow(r);
  for (var px = 0; px < PX; px++) {
    let c = px * STRIDE;
    var s = (*acc)[px];
    for (var kx = 0; kx < K; kx++) { s = fma(taps[t0 + kx], v[c + kx], s); }
    (*acc)[px] = s;
    if (CL == 2) {
      var sB = (*accB)[px];
      for (var kx = 0; kx < K; kx++) { sB = fma(tapsB[t0 + kx], v[c + kx], sB); }
      (*accB)[px] = sB;
    }
  }
}

// The 9 taps into output row py of the tile. Called with constant py, so that after inlining
// every array index is a constant (registers, not scratch memory).
fn outputRow(acc: ptr<private, Row>, accB: ptr<private, Row>, py: i32) {
  // Written out (not a loop) so that every index is a constant after inlining.
  kernelRow(acc, accB, py * STRIDE, 0);
  kernelRow(acc, accB, py * STRIDE + 1, K);
  kernelRow(acc, accB, py * STRIDE + 2, 2 * K);
  if (K > 3) {
    kernelRow(acc, accB, py * STRIDE + 3, 3 * K);
    kernelRow(acc, accB, py * STRIDE + 4, 4 * K);
    kernelRow(acc, accB, py * STRIDE + 5, 5 * K);
    kernelRow(acc, accB, py * STRIDE + 6, 6 * K);
  }
}

// The current channel (win, taps) into every output row of the tile.
fn accumulate() {
  outputRow(&a0, &e0, 0);
  if (PY > 1) { outputRow(&a1, &e1, 1); }
  if (PY > 2) { outputRow(&a2, &e2, 2); }
  if (PY > 3) { outputRow(&a3, &e3, 3); }
  if (PY > 4) { outputRow(&a4, &e0, 4); }
  if (PY > 5) { outputRow(&a5, &e0, 5); }
  if (PY > 6) { outputRow(&a6, &e0, 6); }
  if (PY > 7) { outputRow(&a7, &e0, 7); }
}

// Window value v of a channel with statistics ms, as the conv sees it.
fn prepare(v: f32, ms: vec2f, inside: bool) -> f32 {
  var r = v;
  if (NORM != 0) { r = (r - ms.x) * ms.y; }
  if (NORM == 2) { r = max(r, 0.0); }
  if (PAD_MODE == 1) { r = select(0.0, r, inside); }
  return r;
}

fn store(acc: ptr<private, Row>, o: i32, oy: i32, ox0: i32, ok: bool, sgi: u32) {
  for (var px = 0; px < PX; px++) {
    let v = activate((*acc)[px]);
    if (Y_F16) {
      // Even lanes write the pair (o, o+1); the odd neighbour's value comes by shuffle, which
      // every lane takes part in.
      let next = subgroupShuffle(v, sgi ^ 1u);
      if (ok && (o & 1) == 0 && oy < params.outH && ox0 + px < params.outW) {
        y[((o / 2) * params.outH + oy) * params.outW + ox0 + px] = pack2x16float(vec2f(v, next));
      }
    } else if (ok && oy < params.outH && ox0 + px < params.outW) {
      y[(o * params.outH + oy) * params.outW + ox0 + px] = bitcast<u32>(v);
    }
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sgi: u32,
) {
  let tileRaw = i32(wid.y) * params.tilePitch + i32(wid.x);
  let live = tileRaw < params.tiles;
  let tile = min(tileRaw, params.tiles - 1);
  let oy0 = (tile / params.tilesX) * PY;
  let ox0 = (tile % params.tilesX) * PX;
  let l8 = i32(sgi & 7u);
  lane0 = sgi & ~7u;
  // This lane's output channel: its group of 8 in the workgroup, its lane in the group.
  let group = i32(wid.z) * (WG / 8) + i32(lid / 8u);
  let o = group * 8 * CL + l8;
  let oB = o + 8;

  // Source offsets of this lane's window slots (computed once), and which are inside the image.
  var off: array<i32, NL>;
  var inside: array<bool, NL>;
  let r0 = (params.outRow0 + oy0) * STRIDE - params.pad;
  let c0 = ox0 * STRIDE - params.pad;
  for (var k = 0; k < NL; k++) {
    let e = min(k * 8 + l8, WN - 1);
    let r = r0 + e / WX;
    let c = c0 + e % WX;
    off[k] = clamp(source(r, params.imgH) - params.inRow0, 0, params.inH - 1) * params.inW + source(c, params.inW);
    inside[k] = r >= 0 && r < params.imgH && c >= 0 && c < params.inW;
  }

  var b = 0.0;
  var bB = 0.0;
  if (HAS_BIAS) {
    b = bias[o];
    if (CL == 2) { bB = bias[oB]; }
  }
  for (var px = 0; px < PX; px++) {
    a0[px] = b; a1[px] = b; a2[px] = b; a3[px] = b;
    e0[px] = bB; e1[px] = bB; e2[px] = bB; e3[px] = bB;
    a4[px] = b; a5[px] = b; a6[px] = b; a7[px] = b;
  }

  let plane = params.inH * params.inW;
  // Channels per step: pairs when the weights are f16 pairs.
  let step = select(1, 2, W_F16);
  var wi = group * (params.cin / step) * 8 * KK * CL + l8;
  var chan = 0;
  // Input channels in groups of 8, so that the norm statistics too are loaded once per group of
  // lanes and shuffled (lane j holds channel g + j's).
  for (var g = 0; g < params.cin; g += 8) {
    var ms8 = vec2f(0.0, 1.0);
    if (NORM != 0) { ms8 = stats[min(g + l8, params.cin - 1)]; }
    let n = min(8, params.cin - g);
    for (var j = 0; j < n; j += step) {
      let ms = subgroupShuffle(ms8, lane0 + u32(j));
      if (W_F16) {
        let ms2 = subgroupShuffle(ms8, lane0 + u32(j + 1));
        for (var k = 0; k < NL; k++) {
          var v: vec2f;
          if (X_F16) {
            v = unpack2x16float(x[chan / 2 + off[k]]);
          } else {
            v = vec2f(bitcast<f32>(x[chan + off[k]]), bitcast<f32>(x[chan + plane + off[k]]));
          }
          win[k] = prepare(v.x, ms, inside[k]);
          win2[k] = prepare(v.y, ms2, inside[k]);
        }
        for (var t = 0; t < KK; t++) {
          let w = unpack2x16float(weight[wi + 8 * CL * t]);
          taps[t] = w.x;
          taps2[t] = w.y;
          if (CL == 2) {
            let w2 = unpack2x16float(weight[wi + 8 * CL * t + 8]);
            tapsB[t] = w2.x;
            tapsB2[t] = w2.y;
          }
        }
        wi += 8 * KK * CL;
        chan += 2 * plane;
        accumulate();
        win = win2;
        taps = taps2;
        tapsB = tapsB2;
        accumulate();
      } else {
        for (var k = 0; k < NL; k++) { win[k] = prepare(bitcast<f32>(x[chan + off[k]]), ms, inside[k]); }
        for (var t = 0; t < KK; t++) {
          taps[t] = bitcast<f32>(weight[wi + 8 * CL * t]);
          if (CL == 2) { tapsB[t] = bitcast<f32>(weight[wi + 8 * CL * t + 8]); }
        }
        wi += 8 * KK * CL;
        chan += plane;
        accumulate();
      }
    }
  }

  let ok = live && o < params.cout;
  store(&a0, o, oy0, ox0, ok, sgi);
  if (PY > 1) { store(&a1, o, oy0 + 1, ox0, ok, sgi); }
  if (PY > 2) { store(&a2, o, oy0 + 2, ox0, ok, sgi); }
  if (PY > 3) { store(&a3, o, oy0 + 3, ox0, ok, sgi); }
  if (PY > 4) { store(&a4, o, oy0 + 4, ox0, ok, sgi); }
  if (PY > 5) { store(&a5, o, oy0 + 5, ox0, ok, sgi); }
  if (PY > 6) { store(&a6, o, oy0 + 6, ox0, ok, sgi); }
  if (PY > 7) { store(&a7, o, oy0 + 7, ox0, ok, sgi); }
  if (CL == 2) {
    let okB = live && oB < params.cout;
    store(&e0, oB, oy0, ox0, okB, sgi);
    if (PY > 1) { store(&e1, oB, oy0 + 1, ox0, okB, sgi); }
    if (PY > 2) { store(&e2, oB, oy0 + 2, ox0, okB, sgi); }
    if (PY > 3) { store(&e3, oB, oy0 + 3, ox0, okB, sgi); }
  }
}
