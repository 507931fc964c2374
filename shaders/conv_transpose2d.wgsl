// ConvTranspose2d k3, stride 2, padding 1, output_padding 1 (NERCO.md §7.3): [Cin,H,W] → [Cout,2H,2W],
// in the gather form, register-blocked, with no multiply by a structural zero.
//
// Output (2m+a, 2n+b) takes, with a, b ∈ {0, 1}:
//   a = 0: ky = 1 from input row m;            a = 1: ky = 0 from row m+1 and ky = 2 from row m
//   b = 0: kx = 1 from input column n;         b = 1: kx = 0 from column n+1 and kx = 2 from column n
// so the 2×2 output quad of input pixel (m, n) needs in[m..m+1][n..n+1] and each weight tap once:
// 9 multiply-adds per input pixel and channel pair, which is the layer's nominal cost.
//
// One invocation covers input row m and QX input columns, i.e. a 2 × 2·QX output block, for
// COB·4 output channels. Per input channel it loads the 2 × (QX+1) input values and 9·COB weight
// vec4s (repacked on the host as [coutBlock][ci][tap = ky·3+kx][COB], Cout zero-padded); a
// workgroup shares one output-channel block (workgroup_id.z), so weight loads are uniform across
// it. Taps past the last input row or column (output row 2H−1 / column 2W−1 only) do not exist
// and read as 0: the only zero operands left are on that border, none from the stride's holes.
//
// Defines: QX, COB; NORM (0 none, 1 (v−mean)·invStd on the loads, 2 the same then ReLU);
// HAS_BIAS; WG (invocations per workgroup).
struct Params {
  cin: i32,
  inH: i32,
  inW: i32,
  cout: i32,
  // Blocks per input row (ceil(W/QX)) and in all (H·blocksX).
  blocksX: i32,
  blocks: i32,
  // Invocations per dispatch row: blocks are folded into 2-D past 65535 workgroups.
  pitch: i32,
  // Output rows written: 2·(input rows processed). On a row band (src/nerco/banded.ts) x may hold
  // one more row than is processed, the next band's first row; unbanded it is 2·inH.
  outH: i32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
// Per input channel (mean, invStd); bound to a dummy buffer when NORM == 0.
@group(0) @binding(4) var<storage, read> stats: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const QW = QX + 1;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  // Invocations past the last block redo the last block and store nothing: no early return, so
  // control flow stays uniform and the weight loads stay scalar (uniform) on lavapipe.
  let blkRaw = i32(gid.y) * params.pitch + i32(gid.x);
  let live = blkRaw < params.blocks;
  let blk = min(blkRaw, params.blocks - 1);
  let cb = i32(wid.z);
  let m = blk / params.blocksX;
  let n0 = (blk % params.blocksX) * QX;

  // Source offsets of the two input rows and QX+1 columns, clamped into the input; the flags
  // say which taps exist (the others contribute 0).
  let row1In = m + 1 < params.inH;
  let row0 = m * params.inW;
  let row1 = min(m + 1, params.inH - 1) * params.inW;
  var col: array<i32, QW>;
  var colIn: array<bool, QW>;
  for (var j = 0; j < QW; j++) {
    col[j] = min(n0 + j, params.inW - 1);
    colIn[j] = n0 + j < params.inW;
  }

  // acc[a][2j+b][c]: output row 2m+a, column 2(n0+j)+b, channels 4(cb·COB+c)..+3.
  var acc: array<array<array<vec4f, COB>, 2 * QX>, 2>;
  for (var c = 0; c < COB; c++) {
    var b = vec4f(0.0);
    if (HAS_BIAS) { b = bias[cb * COB + c]; }
    for (var j = 0; j < 2 * QX; j++) {
      acc[0][j][c] = b;
      acc[1][j][c] = b;
    }
  }

  let plane = params.inH * params.inW;
  var chan = 0;
  var wi = cb * params.cin * 9 * COB;
  for (var ci = 0; ci < params.cin; ci++) {
    var ms = vec2f(0.0, 1.0);
    if (NORM != 0) { ms = stats[ci]; }
    var in0: array<f32, QW>;
    var in1: array<f32, QW>;
    for (var j = 0; j < QW; j++) {
      var v0 = x[chan + row0 + col[j]];
      var v1 = x[chan + row1 + col[j]];
      if (NORM != 0) {
        v0 = (v0 - ms.x) * ms.y;
        v1 = (v1 - ms.x) * ms.y;
      }
      if (NORM == 2) {
        v0 = max(v0, 0.0);
        v1 = max(v1, 0.0);
      }
      in0[j] = select(0.0, v0, colIn[j]);
      in1[j] = select(0.0, v1, colIn[j] && row1In);
    }
    for (var c = 0; c < COB; c++) {
      let w00 = weight[wi + 0 * COB + c];
      let w01 = weight[wi + 1 * COB + c];
      let w02 = weight[wi + 2 * COB + c];
      let w10 = weight[wi + 3 * COB + c];
      let w11 = weight[wi + 4 * COB + c];
      let w12 = weight[wi + 5 * COB + c];
      let w20 = weight[wi + 6 * COB + c];
      let w21 = weight[wi + 7 * COB + c];
      let w22 = weight[wi + 8 * COB + c];
      for (var j = 0; j < QX; j++) {
        let a = in0[j];
        let b = in0[j + 1];
        let d = in1[j];
        let e = in1[j + 1];
        acc[0][2 * j][c] += w11 * a;
        acc[0][2 * j + 1][c] += w10 * b + w12 * a;
        acc[1][2 * j][c] += w01 * d + w21 * a;
        acc[1][2 * j + 1][c] += w00 * e + w02 * d + w20 * b + w22 * a;
      }
    }
    wi += 9 * COB;
    chan += plane;
  }

  let outH = params.outH;
  let outW = 2 * params.inW;
  for (var c = 0; c < COB; c++) {
    let o0 = (cb * COB + c) * 4;
    for (var a = 0; a < 2; a++) {
      let oy = 2 * m + a;
      for (var j = 0; j < 2 * QX; j++) {
        let ox = 2 * n0 + j;
        if (live && ox < outW) {
          let v = acc[a][j][c];
          for (var l = 0; l < 4; l++) {
            if (o0 + l < params.cout) { y[((o0 + l) * outH + oy) * outW + ox] = v[l]; }
          }
        }
      }
    }
  }
}
