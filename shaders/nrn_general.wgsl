// NeRCo NRN as models/mlp.py writes it (NERCO.md §4.2): for each pixel, the 4-way local ensemble
// over MLP([unfold3x3(feat), rel_coord, rel_cell]) with area weights. A reference path: one
// invocation per pixel, nothing materialised in global memory, correctness over speed.
//
// Nothing here relies on the §4.3 collapse: rel_coord is computed as coord − q_coord from two
// separate evaluations of the same coordinate function (it comes out +0, as in PyTorch), the MLP
// runs 4 times on the full 9·C + 36 inputs with the checkpoint's weights as they are, and the
// ensemble weights are area_k / tot after the swap.
//
// Defines: ACT_WIDTH (largest Linear output rounded up to 4), Q4 (vec4 outputs per pass over a
// layer's inputs; each input value is loaded once per pass).

const PE_LEVELS = 8u;
const COORD_WIDTH = 34u;  // 2 + 4·PE_LEVELS
// f32(π), exactly; 2^l · PI_F32 is then f32(2^l · π).
const PI_F32 = 0x1.921fb6p+1f;

struct Params {
  height: u32,
  width: u32,
  pixels: u32,
  // Invocations per row of the (possibly 2-D) dispatch.
  pitch: u32,
  numLayers: u32,
  // make_coord per axis: torch adds the f32 scalars (−1 + r) and (2r) (r = 1/n, rounded from double).
  rowStart: f32,
  rowStep: f32,
  colStart: f32,
  colStep: f32,
  // cell = (f32(2/h), f32(2/w)); rel_cell multiplies them by h and w here.
  cellH: f32,
  cellW: f32,
  // f32(1e-9): added to every area.
  areaEps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
// Every Linear with the checkpoint's values, transposed to [in][out4] vec4 (outputs padded to a
// multiple of 4 with zeros), then its bias [out4]; nothing folded or reordered within a sum.
@group(0) @binding(2) var<storage, read> weights: array<vec4f>;
// Per layer: (in, out, weightOffset, biasOffset), offsets in vec4 units.
@group(0) @binding(3) var<storage, read> layerTable: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> preA: array<f32>;

// make_coord((h, w))[y, x] with the positional encoding: [v0, v1, sin(v0·f_l), cos(v0·f_l),
// sin(v1·f_l), cos(v1·f_l)], l = 0..7.
fn coordFeature(y: u32, x: u32) -> array<f32, COORD_WIDTH> {
  var out: array<f32, COORD_WIDTH>;
  let v = vec2f(params.rowStep * f32(y) + params.rowStart, params.colStep * f32(x) + params.colStart);
  out[0] = v.x;
  out[1] = v.y;
  for (var a = 0u; a < 2u; a++) {
    for (var l = 0u; l < PE_LEVELS; l++) {
      let arg = v[a] * (f32(1u << l) * PI_F32);
      out[2u + a * 2u * PE_LEVELS + l] = sin(arg);
      out[2u + a * 2u * PE_LEVELS + PE_LEVELS + l] = cos(arg);
    }
  }
  return out;
}

// a / b, refined by one Newton step from the residual, since WGSL's `/` is not correctly rounded
// (area / tot must give exactly 0.25 as in PyTorch).
fn divide(a: f32, b: f32) -> f32 {
  let q = a / b;
  return fma(fma(-q, b, a), 1.0 / b, q);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.y * params.pitch + gid.x;
  if (p >= params.pixels) { return; }
  let y = p / params.width;
  let x = p - y * params.width;
  let h = params.height;
  let w = params.width;

  // unfold(feat, 3, padding=1) at (y, x): channel c·9 + ky·3 + kx reads feat[c, y+ky−1, x+kx−1].
  var tapOffset: array<u32, 9>;
  var tapInside: array<bool, 9>;
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      let sy = y + ky;  // source row + 1
      let sx = x + kx;
      let inside = sy >= 1u && sy <= h && sx >= 1u && sx <= w;
      tapInside[ky * 3u + kx] = inside;
      tapOffset[ky * 3u + kx] = select(p, (sy - 1u) * w + (sx - 1u), inside);
    }
  }

  // Query coordinate: make_coord of the output size (NRN.forward).
  let coord = coordFeature(y, x);
  let relCell = vec2f(params.cellH * f32(h), params.cellW * f32(w));

  var preds: array<vec3f, 4>;
  var areas: array<f32, 4>;
  // Ping-pong activations of the Linear layers.
  var act: array<array<f32, ACT_WIDTH>, 2>;
  var k = 0u;
  for (var vx = -1; vx <= 1; vx += 2) {
    for (var vy = -1; vy <= 1; vy += 2) {
      // The original shifts coord by (vx, vy)·cell into `coord_`, but only grid_sample calls that
      // are commented out read it: q_feat is the unfolded map and q_coord the feature grid.
      let qCoord = coordFeature(y, x);
      var rel: array<f32, COORD_WIDTH>;
      for (var j = 0u; j < COORD_WIDTH; j++) { rel[j] = coord[j] - qCoord[j]; }
      rel[0] = rel[0] * f32(h);
      rel[1] = rel[1] * f32(w);

      // Layer 0 on inp = [q_feat (9·C), rel_coord (34), rel_cell (2)], in blocks of 4·Q4 outputs
      // (each input value is loaded once per block). Sums run over the inputs in order, then the
      // bias is added.
      let first = layerTable[0];
      let channels = (first.x - COORD_WIDTH - 2u) / 9u;
      let last = params.numLayers - 1u;
      let n4 = (first.y + 3u) / 4u;
      for (var ob = 0u; ob < n4; ob += Q4) {
        // Explicitly zeroed: on lavapipe a `var acc: T;` declared inside a loop was seen to keep
        // the previous iteration's value instead of starting from zero.
        var acc = array<vec4f, Q4>();
        var wi = first.z;
        for (var c = 0u; c < channels; c++) {
          let plane = c * params.pixels;
          for (var tap = 0u; tap < 9u; tap++) {
            let v = vec4f(select(0.0, feat[plane + tapOffset[tap]], tapInside[tap]));
            for (var j = 0u; j < Q4; j++) { acc[j] += weights[wi + min(ob + j, n4 - 1u)] * v; }
            wi += n4;
          }
        }
        for (var i = 0u; i < COORD_WIDTH + 2u; i++) {
          let v = vec4f(select(rel[min(i, COORD_WIDTH - 1u)], relCell[i & 1u], i >= COORD_WIDTH));
          for (var j = 0u; j < Q4; j++) { acc[j] += weights[wi + min(ob + j, n4 - 1u)] * v; }
          wi += n4;
        }
        for (var j = 0u; j < Q4; j++) {
          let o4 = ob + j;
          if (o4 < n4) {
            let v = acc[j] + weights[first.w + o4];
            let r = select(v, max(v, vec4f(0.0)), last > 0u);
            act[0][4u * o4] = r.x;
            act[0][4u * o4 + 1u] = r.y;
            act[0][4u * o4 + 2u] = r.z;
            act[0][4u * o4 + 3u] = r.w;
          }
        }
      }
      // Layers 1 … numLayers−1, ReLU after all but the last.
      var src = 0u;
      for (var l = 1u; l < params.numLayers; l++) {
        let e = layerTable[l];
        let m4 = (e.y + 3u) / 4u;
        for (var ob = 0u; ob < m4; ob += Q4) {
          // Explicitly zeroed (see layer 0).
          var acc = array<vec4f, Q4>();
          var wi = e.z;
          for (var i = 0u; i < e.x; i++) {
            let v = vec4f(act[src][i]);
            for (var j = 0u; j < Q4; j++) { acc[j] += weights[wi + min(ob + j, m4 - 1u)] * v; }
            wi += m4;
          }
          for (var j = 0u; j < Q4; j++) {
            let o4 = ob + j;
            if (o4 < m4) {
              let v = acc[j] + weights[e.w + o4];
              let r = select(v, max(v, vec4f(0.0)), l < last);
              act[1u - src][4u * o4] = r.x;
              act[1u - src][4u * o4 + 1u] = r.y;
              act[1u - src][4u * o4 + 2u] = r.z;
              act[1u - src][4u * o4 + 3u] = r.w;
            }
          }
        }
        src = 1u - src;
      }
      preds[k] = vec3f(act[src][0], act[src][1], act[src][2]);
      areas[k] = abs(rel[0] * rel[1]) + params.areaEps;
      k++;
    }
  }

  let tot = ((areas[0] + areas[1]) + areas[2]) + areas[3];
  // The original swaps areas 0↔3 and 1↔2 before weighting.
  var ret = vec3f(0.0);
  for (var m = 0u; m < 4u; m++) { ret = ret + preds[m] * divide(areas[3u - m], tot); }
  preA[p] = ret.x;
  preA[params.pixels + p] = ret.y;
  preA[2u * params.pixels + p] = ret.z;
}
