// A small static file server for the demo and the browser tests. It listens on 127.0.0.1 only
// (a secure context, so WebGPU is exposed) and serves the repository root, so the demo at /demo/
// reaches the bundle at /dist/browser/ and the default weights at /weights/.
//
//   node scripts/serve.mjs [--port 8080] [--root .]      (npm run demo)
//
// As a module: `startServer({ root, port, mounts })` → { url, port, close() }. `mounts` maps URL
// prefixes to extra directories (the browser tests mount ../shared/fixtures there).
import { createReadStream, promises as fs } from 'node:fs';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.safetensors': 'application/octet-stream',
  '.pth': 'application/octet-stream',
  '.npy': 'application/octet-stream',
};

/** Resolves a URL path under `dir`; null when it would escape it (.., encoded separators). */
function safeJoin(dir, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const full = resolve(dir, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  return full === dir || full.startsWith(dir + sep) ? full : null;
}

async function resolveFile(path) {
  let st = await fs.stat(path).catch(() => null);
  if (st?.isDirectory()) {
    path = resolve(path, 'index.html');
    st = await fs.stat(path).catch(() => null);
  }
  return st?.isFile() ? { path, size: st.size } : null;
}

/**
 * Starts the server. `port` 0 picks a free port. Requests for a directory without a trailing slash
 * are redirected so that the page's relative URLs resolve inside it.
 */
export function startServer({ root = process.cwd(), port = 8080, mounts = {}, log = false } = {}) {
  const rootDir = resolve(root);
  const mountList = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : prefix + '/', resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let status = 200;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        status = 405;
        res.writeHead(status, { Allow: 'GET, HEAD' }).end();
        return;
      }
      const mount = mountList.find(([prefix]) => url.pathname.startsWith(prefix));
      const full = mount ? safeJoin(mount[1], url.pathname.slice(mount[0].length - 1)) : safeJoin(rootDir, url.pathname);
      const stat = full && await fs.stat(full).catch(() => null);
      if (stat?.isDirectory() && !url.pathname.endsWith('/')) {
        status = 301;
        res.writeHead(status, { Location: url.pathname + '/' + url.search }).end();
        return;
      }
      const file = full && await resolveFile(full);
      if (!file) {
        status = 404;
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${url.pathname}\n`);
        return;
      }
      res.writeHead(status, {
        'Content-Type': MIME_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': file.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
    } catch (e) {
      status = 500;
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`server error: ${e.message}\n`);
    } finally {
      if (log) console.log(`${status} ${req.method} ${url.pathname} (${Date.now() - started} ms)`);
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolvePromise({
        port: actual,
        url: `http://127.0.0.1:${actual}/`,
        close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
      });
    });
  });
}

function parseArgs(argv) {
  const opts = { port: 8080, root: resolve(fileURLToPath(new URL('..', import.meta.url))) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--root') opts.root = resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/serve.mjs [--port 8080] [--root <dir>]');
      process.exit(0);
    } else {
      console.error(`serve: unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error('serve: --port must be an integer in 0..65535');
    process.exit(2);
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { port, root } = parseArgs(process.argv.slice(2));
  try {
    await fs.access(resolve(root, 'dist/browser/nerco-webgpu.js'));
  } catch {
    console.warn('serve: dist/browser/nerco-webgpu.js is missing: run `npm run build` first');
  }
  const server = await startServer({ root, port, log: true }).catch((e) => {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
  });
  console.log(`serving ${root} at ${server.url}  →  demo: ${server.url}demo/`);
}
