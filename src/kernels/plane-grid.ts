import type { Workgroups } from '../runtime/recorder.js';
import { flatGrid } from './grid.js';

/**
 * Workgroups for `channels` planes of `plane` invocations each: the plane is folded into x/y as by
 * flatGrid, the channel is z. Shaders index with `c = gid.z`, `i = gid.y * pitch + gid.x`, so no
 * integer division by the plane size is needed per element.
 */
export function planeGrid(plane: number, channels: number, size: number): { workgroups: Workgroups; pitch: number } {
  const { workgroups, pitch } = flatGrid(plane, size);
  return { workgroups: [workgroups[0], workgroups[1] ?? 1, channels], pitch };
}
