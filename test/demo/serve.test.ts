/**
 * The demo server's pieces that need no browser: static file resolution
 * (no way out of the served directories), content types, methods, the
 * "not built" error, `yolor serve-demo`'s argument errors, the sample images
 * (from the checkpoint's recorded validation data, its run's args.yaml, a
 * folder, or none) and what a multi-task checkpoint's config.json says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ensureShapesDataset } from '../../src/data/datasets/shapes.js';
import { encodePng } from '../../src/data/image-io.js';
import { initBackend } from '../../src/engine/backend.js';
import { checkpointValData, MAX_SAMPLES, writeSamples } from '../../src/export/demo/samples.js';
import { checkDemoBuilt, DEMO_DIST, serveDemo } from '../../src/export/demo/serve.js';
import { contentType, type Mount, resolveStaticPath, staticHandler } from '../../src/export/demo/static-server.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { parseModelConfig, serializeModelConfig, type TaskName } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
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
  const mounts: Mount[] = [
    { prefix: '/', dir: site },
    { prefix: '/model/', dir: model },
  ];

  test('serves files under the mounts, index.html for directories', async () => {
    assert.equal(await resolveStaticPath('/', mounts), join(site, 'index.html'));
    assert.equal(await resolveStaticPath('/wasm/a.wasm', mounts), join(site, 'wasm', 'a.wasm'));
    assert.equal(await resolveStaticPath('/model/config.json', mounts), join(model, 'config.json'));
    assert.equal(await resolveStaticPath('/wasm', mounts), null, 'a directory without the slash is not a file');
  });

  test('refuses traversal, encoded separators, NUL and symlinks out of the root', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/model/../../secret.txt',
      '/model/%2e%2e%2fsecret.txt',
      '/wasm/..%5c..%5csecret.txt',
      '/index.html%00.png',
      '/link.txt',
      '/%E0%A4%A',
      'secret.txt',
      '/./index.html',
    ]) {
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
          r.on('end', () =>
            res({
              status: r.statusCode ?? 0,
              type: r.headers['content-type'],
              coep: r.headers['cross-origin-embedder-policy'] as string | undefined,
              body,
            }),
          );
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

test('yolor serve-demo: missing --weights, a bad --port and a missing --samples folder exit 2 with one line', async () => {
  const run = (...args: string[]) =>
    new Promise<{ code: number; stderr: string }>((res) => {
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
  const c = await run('--weights', 'x', '--samples', '/no/such/folder');
  assert.equal(c.code, 2);
  assert.match(c.stderr, /^yolor serve-demo: --samples \/no\/such\/folder: no such file or directory \(or use auto or none\)/);
});

describe('sample images', () => {
  let data: string;
  let valFiles: string[];
  before(async () => {
    // A small generated dataset folder (the format `yolor train --data DIR` reads), 3 validation images.
    data = join(tmp('demo-data'), 'shapes');
    const ds = await ensureShapesDataset(data, { train: 1, val: 3, test: 0, size: 96, progress: false });
    valFiles = ds.splits.val!.map((r) => r.file);
  });

  test("auto: the checkpoint's recorded validation data, copied as they are, listed in samples.json", async () => {
    const out = join(tmp('demo-samples'), 'samples');
    const s = await writeSamples(out, { weights: '/nowhere', metadata: { data: { source: data, split: 'val' } } });
    assert.equal(s.images.length, 3);
    assert.equal(s.note, undefined);
    assert.match(s.source ?? '', /val split/);
    s.images.forEach((img, i) => {
      assert.deepEqual({ ...img }, { file: `0${i}.png`, name: valFiles[i]!.split('/').pop(), width: 96, height: 96 });
      assert.ok(readFileSync(join(out, img.file)).equals(readFileSync(valFiles[i]!)), `${img.file} is a copy of ${valFiles[i]}`);
    });
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')), s);
  });

  test("auto, older checkpoints: the run's args.yaml (data, valSplit) two folders above the weights", async () => {
    const run = tmp('demo-run');
    mkdirSync(join(run, 'weights', 'best'), { recursive: true });
    writeFileSync(join(run, 'args.yaml'), `data: ${data}\nvalSplit: val\n`);
    const weights = join(run, 'weights', 'best');
    assert.deepEqual(checkpointValData(weights, {}), { source: data, split: 'val' });
    const s = await writeSamples(join(run, 'samples'), { weights, metadata: {}, limit: 2 });
    assert.equal(s.images.length, 2, 'limit');
  });

  test('auto with nothing to go on, or unreadable data: no images and a note saying why (not an error)', async () => {
    const a = await writeSamples(join(tmp('demo-none'), 's'), { weights: '/nowhere', metadata: {} });
    assert.deepEqual(a.images, []);
    assert.match(a.note ?? '', /does not record its validation data \(pass --samples DIR\)/);
    const b = await writeSamples(join(tmp('demo-bad'), 's'), {
      weights: '/nowhere',
      metadata: { data: { source: '/no/such/dataset', split: 'val' } },
    });
    assert.deepEqual(b.images, []);
    assert.match(b.note ?? '', /\/no\/such\/dataset \(val split\) cannot be read: dataset not found/);
    const c = await writeSamples(join(tmp('demo-off'), 's'), {
      spec: 'none',
      weights: '/nowhere',
      metadata: { data: { source: data, split: 'val' } },
    });
    assert.deepEqual(c.images, []);
    assert.match(c.note ?? '', /--samples none/);
  });

  test('--samples DIR: its images sorted, at most 8, TIFF converted to PNG; a missing DIR is an error', async () => {
    const dir = tmp('demo-dir');
    const img = { data: new Uint8Array(20 * 10 * 3).fill(200), width: 20, height: 10 };
    for (let i = 0; i < 9; i++) writeFileSync(join(dir, `img${i}.png`), await encodePng(img));
    await sharp(img.data, { raw: { width: 20, height: 10, channels: 3 } })
      .tiff()
      .toFile(join(dir, 'a.tiff'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const out = join(tmp('demo-dir-out'), 's');
    const s = await writeSamples(out, { spec: dir, weights: '/nowhere', metadata: {} });
    assert.equal(s.images.length, MAX_SAMPLES);
    assert.deepEqual(
      s.images.map((i) => i.name),
      ['a.tiff', ...Array.from({ length: 7 }, (_, i) => `img${i}.png`)],
    );
    assert.equal(s.images[0]!.file, '00.png');
    assert.deepEqual(readFileSync(join(out, '00.png')).subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(readdirSync(out).sort(), [...s.images.map((i) => i.file), 'samples.json'].sort());
    await assert.rejects(
      writeSamples(join(tmp('demo-missing'), 's'), { spec: join(dir, 'nope'), weights: '/x', metadata: {} }),
      /--samples .*nope: no such file or directory/,
    );
  });
});

describe('serveDemo with a multi-task checkpoint', { skip: existsSync(join(DEMO_DIST, 'index.html')) ? false : 'dist-demo/ is not built' }, () => {
  const names = ['circle', 'square'];
  const attributes = ['red', 'green', 'blue'];
  async function checkpoint(tasks: TaskName[], extra: Record<string, unknown> = {}): Promise<string> {
    const cfg = parseModelConfig({ ...serializeModelConfig(resolveModelConfig('yolor-n')), nc: 2, names, imgsz: 64, tasks, num_labels: 5 }, 'test');
    const model = new Detector(cfg, 1);
    const dir = join(tmp('demo-mt'), 'ckpt');
    await saveModel(dir, model, { names, attributes, imgsz: 64, ...extra });
    model.dispose();
    return dir;
  }

  before(async () => {
    await initBackend('wasm');
  });

  test('config.json lists the labels and segment outputs with their names; samples are served', async () => {
    const data = join(tmp('demo-mt-data'), 'shapes');
    await ensureShapesDataset(data, { train: 1, val: 2, test: 0, size: 64, progress: false });
    const server = await serveDemo({
      weights: await checkpoint(['detect', 'classify', 'segment'], { data: { source: data, split: 'val' } }),
      port: 0,
      format: 'onnx',
    });
    try {
      const config = (await (await fetch(`${server.url}model/config.json`)).json()) as Record<string, unknown>;
      assert.deepEqual(config.outputs, ['detections', 'labels', 'segment']);
      assert.deepEqual(config.labels, [...names, ...attributes]);
      assert.deepEqual(config.segment, ['background', ...names]);
      const samples = (await (await fetch(`${server.url}samples/samples.json`)).json()) as { images: Array<{ file: string }> };
      assert.equal(samples.images.length, 2);
      const png = await fetch(`${server.url}samples/${samples.images[0]!.file}`);
      assert.equal(png.status, 200);
      assert.equal(png.headers.get('content-type'), 'image/png');
      assert.deepEqual(server.samples, samples);
    } finally {
      await server.close();
    }
    assert.equal(existsSync(server.modelDir), false, 'close removes the temporary folder');
  });

  test('a checkpoint without the detect head is refused with the reason', async () => {
    await assert.rejects(
      serveDemo({ weights: await checkpoint(['classify', 'segment']), port: 0 }),
      /has no detect head \(tasks: classify, segment\)/,
    );
  });
});
