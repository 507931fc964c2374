// The ESM browser bundle: dist/browser/nerco-webgpu.js, WGSL embedded (src/kernels/shaders.gen.ts).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/browser/nerco-webgpu.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  // Node-only paths are reached through non-literal dynamic imports and never run in a browser.
  logOverride: { 'unsupported-dynamic-import': 'silent' },
  logLevel: 'warning',
});
