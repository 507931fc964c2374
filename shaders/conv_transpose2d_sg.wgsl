// ConvTranspose2d k3, stride 2, padding 1, output_padding 1 (NERCO.md §7.3) with the input window
// shared through subgroup shuffles: [Cin,H,W] → [Cout,2H,2W]. Needs `enable subgroups;` and
// subgroups of ≥ 8 lanes. The same scheme as conv2d_sg.wgsl (see there for why): the 8 lanes of a
// group compute the same output tile for 8 consecutive output channels (one each); per input
// channel the group loads the tile's input window once, spread over its lanes, and shares it by
// shuffles, and each lane loads its 9 taps.
//
// Gather form, no multiply by a structural zero: output (2m+a, 2n+b) takes
//   a = 0: ky = 1 from input row m;            a = 1: ky = 0 from row m+1 and ky = 2 from row m
//   b = 0: kx = 1 from input column n;         b = 1: kx = 0 from column n+1 and kx = 2 from column n
// so input pixel (m, n) and its right/lower neighbours feed the 2×2 output quad of (m, n) with 9
// multiply-adds per input channel. A tile is QY input rows × QX input columns (a 2QY × 2QX output
// block); its window is (QY+1) × (QX+1) input values, those past the last row or column read 0.
// The instance-norm apply of the previous layer ((v − mean)·invStd, then ReLU) is applied to
// in-range values as they are loaded. Weights repacked as [group of 8 output channels][ci][tap =
// ky·3+kx][lane], Cout zero-padded to whole workgroups.
//
// Defines: QX (tile columns, input), QY (tile rows, input: 1 or 2), NORM (0 none, 1 IN apply,
// 2 IN apply + ReLU), HAS_BIAS, WG (invocations per workgroup, a multiple of 8).
struct Params {
  cin: i32,
  inH: i32,
  inW: i32,
  cout: i32,
  // Input rows processed (output rows = 2·rows); x holds rows or rows + 1 rows (a band, see
  // src/nerco/banded.ts: the extra row is the next band's first, read by the odd output rows).
  rows: i32,
  tilesX: i32,
  tiles: i32,
  tilePitch: i32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// Per input channel (mean, invStd); bound to a dummy buffer when NORM == 0.
@group(0) @binding(4) var<storage, read> stats: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const WX = QX + 1;
const WY = QY + 1;
const WN = WX * WY;
const NL = (WN + 7) / 8;

var<private> win: array<f32, NL>;
var<private> taps: array<f32, 9>;
var<private> lane0: u32;

alias Row = array<f32, 2 * QX>;

fn windowRow(r: i32) -> array<f32, WX> {
  var row: array<f32, WX>;
  for (var c = 0; c < WX; c++) {
    let e = r * WX + c;
    row[c] = subgroupShuffle(win[e / 8], lane0 + u32(e % 8));
  }
  return row;
}

// Input row r of the tile into its two output rows (top: a = 0, bottom: a = 1).
fn quadRows(top: ptr<function, Row>, bottom: ptr<function, Row>, r: i32) {
  let i0 = windowRow(r);
  let i1 = windowRow(r + 1);
  for (var j = 0; j < QX; j++) {
    let a = i0[j];
    let b = i0[j + 1];
    let d = i1[j];
    let e = i1[j + 1];
    (*top)[2 * j] = fma(taps[4], a, (*top)[2 * j]);
    (*top)[2 * j + 1] = fma(taps[3], b, fma(taps[5], a, (*top)[2 * j + 1]));
    (*bottom)[2 * j] = fma(taps[1], d, fma(taps[7], a, (*bottom)[2 * j]));
    (*bottom)[2 * j + 1] = fma(taps[0], e, fma(taps[2], d, fma(taps[6], b, fma(taps[8], a, (*bottom)[2 * j + 1]))));
  }
}

fn store(acc: ptr<function, Row>, o: i32, oy: i32, ox0: i32, ok: bool) {
  let outH = 2 * params.rows;
  let outW = 2 * params.inW;
  if (ok && oy < outH) {
    for (var j = 0; j < 2 * QX; j++) {
      if (ox0 + j < outW) { y[(o * outH + oy) * outW + ox0 + j] = (*acc)[j]; }
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
  let m0 = (tile / params.tilesX) * QY;
  let n0 = (tile % params.tilesX) * QX;
  let l8 = i32(sgi & 7u);
  lane0 = sgi & ~7u;
  let group = i32(wid.z) * (WG / 8) + i32(lid / 8u);
  let o = group * 8 + l8;

  var off: array<i32, NL>;
  var inside: array<bool, NL>;
  for (var k = 0; k < NL; k++) {
    let e = min(k * 8 + l8, WN - 1);
    let r = m0 + e / WX;
    let c = n0 + e % WX;
    inside[k] = r < params.inH && c < params.inW;
    off[k] = min(r, params.inH - 1) * params.inW + min(c, params.inW - 1);
  }

  var b = 0.0;
  if (HAS_BIAS) { b = bias[o]; }
  var a0: Row; var a1: Row; var a2: Row; var a3: Row;
  for (var j = 0; j < 2 * QX; j++) { a0[j] = b; a1[j] = b; a2[j] = b; a3[j] = b; }

  let plane = params.inH * params.inW;
  var wi = group * params.cin * 72 + l8;
  var chan = 0;
  for (var g = 0; g < params.cin; g += 8) {
    var ms8 = vec2f(0.0, 1.0);
    if (NORM != 0) { ms8 = stats[min(g + l8, params.cin - 1)]; }
    let n = min(8, params.cin - g);
    for (var j = 0; j < n; j++) {
      let ms = subgroupShuffle(ms8, lane0 + u32(j));
      for (var k = 0; k < NL; k++) {
        var v = x[chan + off[k]];
        if (NORM != 0) { v = (v - ms.x) * ms.y; }
        if (NORM == 2) { v = max(v, 0.0); }
        win[k] = select(0.0, v, inside[k]);
      }
      for (var t = 0; t < 9; t++) { taps[t] = weight[wi + 8 * t]; }
      wi += 72;
      chan += plane;
      quadRows(&a0, &a1, 0);
      if (QY > 1) { quadRows(&a2, &a3, 1); }
    }
  }

  let ok = live && o < params.cout;
  store(&a0, o, 2 * m0, 2 * n0, ok);
  store(&a1, o, 2 * m0 + 1, 2 * n0, ok);
  if (QY > 1) {
    store(&a2, o, 2 * m0 + 2, 2 * n0, ok);
    store(&a3, o, 2 * m0 + 3, 2 * n0, ok);
  }
}
