import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const yolor = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('yolor info --list lists the zoo with descriptions', () => {
  const r = yolor('info', '--list');
  assert.equal(r.status, 0, r.stderr);
  for (const name of ['yolor-n', 'yolor-s', 'yolor-m', 'yolor-bifpn-n', 'yolor-bifpn-s', 'yolor-bifpn-m']) {
    assert.match(r.stdout, new RegExp(`^${name}\\s+\\S`, 'm'));
  }
});

test('yolor info --model NAME --json prints params, gflops and a per-layer list', () => {
  const r = yolor('info', '--model', 'yolor-n', '--imgsz', '64', '--json', '--backend', 'wasm');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    params: number;
    gflops: number;
    layers: Array<{ name: string; type: string; outputShape: number[]; params: number; flops: number }>;
  };
  assert.ok(s.params > 0 && s.gflops > 0 && s.layers.length > 10);
  const total = s.layers.reduce((a, l) => a + l.flops, 0) / 1e9;
  assert.ok(Math.abs(total - s.gflops) < 1e-9);
  assert.deepEqual(s.layers.at(-1)!.outputShape, [1, 2, 2, 255]);
});

test('yolor info prints a table and totals; a size off the stride is rounded up with a warning; a bad size or model is a one-line error', () => {
  const ok = yolor('info', '--model', 'yolor-bifpn-n', '--imgsz', '64', '--backend', 'wasm');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^layer\s+type\s+output\s+params\s+FLOPs$/m);
  assert.match(ok.stdout, /yolor-bifpn-n: \d+ layers, [\d,]+ parameters, [\d.]+ GFLOPs at 64x64/);
  // A size that is not a multiple of the largest stride is rounded up with a warning; one that is no size is an error.
  const rounded = yolor('info', '--model', 'yolor-n', '--imgsz', '100', '--backend', 'wasm');
  assert.equal(rounded.status, 0, rounded.stderr);
  assert.match(rounded.stderr, /^warning: image size 100 is not a multiple of the largest stride 32 of yolor-n; using 128\n/);
  assert.match(rounded.stdout, /GFLOPs at 128x128/);
  const bad = yolor('info', '--model', 'yolor-n', '--imgsz', '0', '--backend', 'wasm');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^yolor info: image size must be a positive integer; got 0\n$/);
  const unknown = yolor('info', '--model', 'nope', '--backend', 'wasm');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown model 'nope'/);
});

test('yolor info --tasks counts the heads of a multi-task network and their task codes', () => {
  const base = JSON.parse(yolor('info', '--model', 'yolor-n', '--imgsz', '64', '--json', '--backend', 'wasm').stdout) as {
    params: number;
    deploy: { params: number };
  };
  const r = yolor(
    'info',
    '--model',
    'yolor-n',
    '--imgsz',
    '64',
    '--tasks',
    'detect,classify,segment,embed',
    '--task-implicit',
    'add',
    '--json',
    '--backend',
    'wasm',
  );
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { params: number; layers: Array<{ name: string }>; deploy: { params: number }; plain: { params: number } };
  assert.ok(s.params > base.params);
  for (const head of ['classify_head', 'segment_head', 'embed_head'])
    assert.ok(
      s.layers.some((l) => l.name.startsWith(head)),
      head,
    );
  // Codes fold and the identity classifier is dropped: the deploy model is no larger than the plain one.
  assert.ok(s.deploy.params <= s.plain.params);
  assert.match(yolor('info', '--model', 'yolor-n', '--tasks', 'depth').stderr, /unknown task 'depth'/);
});
