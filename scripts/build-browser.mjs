// The ESM browser bundle: dist/browser/nerco-webgpu.js, WGSL embedded (src/kernels/shaders.gen.ts).
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/browser/nerco-webgpu.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  metafile: true,
  // Node-only paths are reached through non-literal dynamic imports and never run in a browser.
  logOverride: { 'unsupported-dynamic-import': 'silent' },
  logLevel: 'warning',
});

// A static import of a Node built-in (or of the Node-only src/node/ helpers) would break every
// browser that loads the bundle: fail the build instead.
const output = Object.values(result.metafile.outputs)[0];
const nodeOnly = [
  ...output.imports.filter((i) => i.path.startsWith('node:') && i.kind !== 'dynamic-import').map((i) => i.path),
  ...Object.keys(result.metafile.inputs).filter((p) => p.startsWith('src/node/') || p.startsWith('src/cli/')),
];
if (nodeOnly.length) {
  console.error(`build-browser: the browser bundle pulls in Node-only code: ${nodeOnly.join(', ')}`);
  process.exit(1);
}
