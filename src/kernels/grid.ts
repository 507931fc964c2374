import type { Workgroups } from '../runtime/recorder.js';

/**
 * Workgroups for a flat range of `count` invocations in groups of `size`, folded into 2-D when
 * one dimension would exceed the 65535 limit. Shaders index with `gid.y * pitch + gid.x`.
 */
export function flatGrid(count: number, size: number, maxPerDim = 65535): { workgroups: Workgroups; pitch: number } {
  const groups = Math.ceil(count / size);
  if (groups <= maxPerDim) return { workgroups: [groups, 1], pitch: groups * size };
  const x = maxPerDim;
  return { workgroups: [x, Math.ceil(groups / x)], pitch: x * size };
}
