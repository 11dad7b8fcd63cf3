/**
 * The demo server's pieces that need no browser: static file resolution
 * (no way out of the served directories), content types, methods, the
 * "not built" error, and `yolor serve-demo`'s argument errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkDemoBuilt } from '../../src/export/demo/serve.js';
import { contentType, resolveStaticPath, staticHandler, type Mount } from '../../src/export/demo/static-server.js';
import { tmp } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('static file resolution', () => {
  const base = tmp('demo-static');
  const site = join(base, 'site');
  const model = join(base, 'model');
  mkdirSync(join(site, 'wasm'), { recursive: true });
  mkdirSync(model);
  writeFileSync(join(site, 'index.html'), '<!doctype html>');
  writeFileSync(join(site, 'wasm', 'a.wasm'), new Uint8Array([0, 97, 115, 109]));
  writeFileSync(join(model, 'config.json'), '{}');
  writeFileSync(join(base, 'secret.txt'), 'secret');
  symlinkSync(join(base, 'secret.txt'), join(site, 'link.txt'));
  const mounts: Mount[] = [{ prefix: '/', dir: site }, { prefix: '/model/', dir: model }];

  test('serves files under the mounts, index.html for directories', async () => {
    assert.equal(await resolveStaticPath('/', mounts), join(site, 'index.html'));
    assert.equal(await resolveStaticPath('/wasm/a.wasm', mounts), join(site, 'wasm', 'a.wasm'));
    assert.equal(await resolveStaticPath('/model/config.json', mounts), join(model, 'config.json'));
    assert.equal(await resolveStaticPath('/wasm', mounts), null, 'a directory without the slash is not a file');
  });

  test('refuses traversal, encoded separators, NUL and symlinks out of the root', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/model/../../secret.txt', '/model/%2e%2e%2fsecret.txt',
      '/wasm/..%5c..%5csecret.txt', '/index.html%00.png', '/link.txt', '/%E0%A4%A', 'secret.txt', '/./index.html']) {
      assert.equal(await resolveStaticPath(p, mounts), null, p);
    }
  });

  test('content types a browser needs', () => {
    assert.equal(contentType('x.wasm'), 'application/wasm');
    assert.match(contentType('x.mjs'), /^text\/javascript/);
    assert.match(contentType('x.js'), /^text\/javascript/);
    assert.match(contentType('model.json'), /^application\/json/);
    assert.equal(contentType('group1-shard1of1.bin'), 'application/octet-stream');
    assert.equal(contentType('model.onnx'), 'application/octet-stream');
  });

  describe('over HTTP', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer(staticHandler(mounts));
      await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((res) => server.close(() => res())));

    /** A raw request, so the path reaches the server exactly as written (fetch would normalise it). */
    function get(path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; coep: string | undefined; body: string }> {
      return new Promise((res, rej) => {
        const req = request({ host: '127.0.0.1', port, path, method }, (r) => {
          let body = '';
          r.setEncoding('latin1');
          r.on('data', (c: string) => (body += c));
          r.on('end', () => res({ status: r.statusCode ?? 0, type: r.headers['content-type'], coep: r.headers['cross-origin-embedder-policy'] as string | undefined, body }));
        });
        req.on('error', rej);
        req.end();
      });
    }

    test('GET serves with type and cross-origin isolation headers; traversal is a 404; POST a 405', async () => {
      const wasm = await get('/wasm/a.wasm?v=1');
      assert.equal(wasm.status, 200);
      assert.equal(wasm.type, 'application/wasm');
      assert.equal(wasm.coep, 'require-corp');
      assert.equal(wasm.body, '\0asm');
      assert.equal((await get('/')).type, 'text/html; charset=utf-8');
      assert.equal((await get('/model/config.json')).body, '{}');
      for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/model/..%2f..%2fsecret.txt', '/link.txt']) {
        const r = await get(p);
        assert.equal(r.status, 404, p);
        assert.doesNotMatch(r.body, /secret/);
      }
      assert.equal((await get('/', 'POST')).status, 405);
      const head = await get('/index.html', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
    });
  });
});

test('a missing page build is a one-line error that says how to build it', () => {
  const empty = tmp('demo-empty');
  assert.throws(() => checkDemoBuilt(empty), /the demo page is not built \(run npm run build:demo\)$/);
});

test('yolor serve-demo: missing --weights and a bad --port exit 2 with one line', async () => {
  const run = (...args: string[]) => new Promise<{ code: number; stderr: string }>((res) => {
    execFile(process.execPath, [MAIN, 'serve-demo', ...args], { timeout: 60_000 }, (err, _out, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });
  const a = await run();
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^yolor serve-demo: --weights is required \(see 'yolor serve-demo --help'\)\n$/);
  const b = await run('--weights', 'x', '--port', '70000');
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^yolor serve-demo: --port must be in 0\.\.65535; got 70000/);
});
