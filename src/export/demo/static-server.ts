/**
 * A small static file handler for node:http: GET/HEAD only, URL paths mapped
 * under fixed mount points, never outside their directory (`..`, encoded
 * slashes, NUL bytes and symlinks out of the root are refused), with the
 * content types a browser needs (application/wasm for streaming compilation,
 * text/javascript for module scripts).
 *
 * Responses carry COOP/COEP headers so the page is cross-origin isolated:
 * SharedArrayBuffer, hence multi-threaded wasm in tfjs and onnxruntime-web.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Content type by file extension (application/octet-stream when unknown). */
export function contentType(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A URL path prefix (starting and ending with '/') served from a directory. */
export interface Mount {
  prefix: string;
  dir: string;
}

/**
 * The file a URL path names under `mounts` (longest prefix first), or null
 * when it names nothing servable. '/' and paths ending in '/' get index.html.
 */
export async function resolveStaticPath(urlPath: string, mounts: readonly Mount[]): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  // Encoded separators and NUL never name a legitimate file here.
  if (path.includes('\0') || path.includes('\\') || !path.startsWith('/')) return null;
  if (path.split('/').some((seg) => seg === '..' || seg === '.')) return null;
  if (path.endsWith('/')) path += 'index.html';
  const mount = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length).find((m) => path.startsWith(m.prefix));
  if (!mount) return null;
  const root = resolve(mount.dir);
  const file = resolve(join(root, path.slice(mount.prefix.length)));
  if (file !== root && !file.startsWith(root + sep)) return null;
  try {
    // Symlinks may not lead out of the root either.
    const [realRoot, real] = await Promise.all([realpath(root), realpath(file)]);
    if (!real.startsWith(realRoot + sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** A request handler serving `mounts`. */
export function staticHandler(mounts: readonly Mount[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const urlPath = (req.url ?? '/').split(/[?#]/, 1)[0]!;
    resolveStaticPath(urlPath, mounts)
      .then(async (file) => {
        if (!file) {
          sendText(res, 404, 'not found\n');
          return;
        }
        const { size } = await stat(file);
        res.writeHead(200, { 'Content-Type': contentType(file), 'Content-Length': size, 'Cache-Control': 'no-cache' });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        const stream = createReadStream(file);
        stream.on('error', () => res.destroy());
        stream.pipe(res);
      })
      .catch(() => {
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
  };
}
