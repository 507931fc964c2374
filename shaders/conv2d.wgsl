// Conv2d as a register-blocked implicit GEMM (NERCO.md §7.2), input [Cin,H,W] → output [Cout,Ho,Wo].
//
// One invocation computes a block of PY output rows × PX output columns × COB·4 output channels,
// keeping PY·PX·COB vec4 accumulators in registers. For every (ky, ci) it loads the PY input row
// segments the block needs once ("window", (PX−1)·STRIDE+K values each) and then does
// K·PY·PX·COB vec4 multiply-adds from them. A workgroup shares one output-channel block (its
// workgroup_id.z, which the compiler can prove uniform), so the weight loads are uniform: one
// scalar load per SIMD batch on lavapipe (still about as costly there as an 8-lane gather, which
// is why blocks wide in pixels win), a broadcast from cache on GPUs. The weights are repacked on
// the host as [coutBlock][ky][ci][kx][COB] vec4 so that this loop order streams them, with Cout
// padded to a whole block by zeros (stores are guarded).
//
// Padding is folded into the loads: the source column of every window slot is computed once per
// invocation, the source row once per ky; reflect maps an index as ReflectionPad2d does (§7.1),
// zero padding selects 0 for taps outside the input.
//
// Defines:
//   K, STRIDE            kernel size, stride
//   PX, PY, COB          output block: columns, rows, vec4 output-channel groups
//   PAD_MODE             0 no padding, 1 zero, 2 reflect
//   NORM                 0 none; 1 instance-norm apply on the loads (v−mean)·invStd; 2 the same, then ReLU
//   HAS_BIAS             add bias[o]
//   ACT                  epilogue after bias: 0 none, 1 ReLU, 2 tanh, 3 sigmoid
//   WG                   invocations per workgroup
struct Params {
  cin: i32,
  inH: i32,
  inW: i32,
  cout: i32,
  outH: i32,
  outW: i32,
  pad: i32,
  // Output blocks per block row, and in all (ceil(Ho/PY)·ceil(Wo/PX)).
  blocksX: i32,
  blocks: i32,
  // Invocations per dispatch row: spatial blocks are folded into 2-D past 65535 workgroups.
  pitch: i32,
  // Row bands (src/nerco/banded.ts): x holds rows inRow0 … inRow0+inH−1 of an image imgH rows
  // high, and y holds output rows outRow0 … outRow0+outH−1; padding follows the whole image.
  // Unbanded: imgH = inH, inRow0 = outRow0 = 0.
  imgH: i32,
  inRow0: i32,
  outRow0: i32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
// Per input channel (mean, invStd); bound to a dummy buffer when NORM == 0.
@group(0) @binding(4) var<storage, read> stats: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const WIN = (PX - 1) * STRIDE + K;

// #include "lib/pad_source.wgsl"

fn activate(v: vec4f) -> vec4f {
  if (ACT == 1) { return max(v, vec4f(0.0)); }
  // Built-in tanh may return NaN for large |v| on some back ends; in f32 it is ±1 beyond 15.
  if (ACT == 2) { return tanh(clamp(v, vec4f(-15.0), vec4f(15.0))); }
  if (ACT == 3) { return 1.0 / (1.0 + exp(-v)); }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  // Invocations past the last block compute the last block again and store nothing: no early
  // return, so control flow stays uniform (lavapipe then loads the shared weights once per SIMD
  // batch instead of gathering them per lane).
  let blkRaw = i32(gid.y) * params.pitch + i32(gid.x);
  let live = blkRaw < params.blocks;
  let blk = min(blkRaw, params.blocks - 1);
  let cb = i32(wid.z);
  let oy0 = (blk / params.blocksX) * PY;
  let ox0 = (blk % params.blocksX) * PX;

  var col: array<i32, WIN>;
  var colIn: array<bool, WIN>;
  let ix0 = ox0 * STRIDE - params.pad;
  for (var j = 0; j < WIN; j++) {
    col[j] = source(ix0 + j, params.inW);
    colIn[j] = ix0 + j >= 0 && ix0 + j < params.inW;
  }

  var acc: array<array<array<vec4f, COB>, PX>, PY>;
  for (var c = 0; c < COB; c++) {
    var b = vec4f(0.0);
    if (HAS_BIAS) { b = bias[cb * COB + c]; }
    for (var py = 0; py < PY; py++) {
      for (var px = 0; px < PX; px++) { acc[py][px][c] = b; }
    }
  }

  let plane = params.inH * params.inW;
  var wi = cb * K * params.cin * K * COB;
  for (var ky = 0; ky < K; ky++) {
    var rowBase: array<i32, PY>;
    var rowIn: array<bool, PY>;
    for (var py = 0; py < PY; py++) {
      let r = (params.outRow0 + oy0 + py) * STRIDE + ky - params.pad;
      rowBase[py] = clamp(source(r, params.imgH) - params.inRow0, 0, params.inH - 1) * params.inW;
      rowIn[py] = r >= 0 && r < params.imgH;
    }
    var chan = 0;
    for (var ci = 0; ci < params.cin; ci++) {
      var ms = vec2f(0.0, 1.0);
      if (NORM != 0) { ms = stats[ci]; }
      var win: array<array<f32, WIN>, PY>;
      for (var py = 0; py < PY; py++) {
        for (var j = 0; j < WIN; j++) {
          var v = x[chan + rowBase[py] + col[j]];
          if (NORM != 0) { v = (v - ms.x) * ms.y; }
          if (NORM == 2) { v = max(v, 0.0); }
          if (PAD_MODE == 1) { v = select(0.0, v, rowIn[py] && colIn[j]); }
          win[py][j] = v;
        }
      }
      for (var kx = 0; kx < K; kx++) {
        for (var c = 0; c < COB; c++) {
          let wv = weight[wi + kx * COB + c];
          for (var py = 0; py < PY; py++) {
            for (var px = 0; px < PX; px++) {
              acc[py][px][c] += wv * win[py][px * STRIDE + kx];
            }
          }
        }
      }
      wi += K * COB;
      chan += plane;
    }
  }

  for (var c = 0; c < COB; c++) {
    let o0 = (cb * COB + c) * 4;
    for (var py = 0; py < PY; py++) {
      let oy = oy0 + py;
      for (var px = 0; px < PX; px++) {
        let ox = ox0 + px;
        let v = activate(acc[py][px][c]);
        if (live && oy < params.outH && ox < params.outW) {
          for (var l = 0; l < 4; l++) {
            if (o0 + l < params.cout) { y[((o0 + l) * params.outH + oy) * params.outW + ox] = v[l]; }
          }
        }
      }
    }
  }
}
