/**
 * Input sizes: maxStrideOf(config) is the stride the built model reports, for
 * every zoo model and a five-level BiFPN; sizes that are not multiples of it are
 * rounded up with a warning, by the library and by the CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../src/engine/backend.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { fitImageSize, maxStrideOf } from '../../src/models/image-size.js';
import { listZoo, resolveModelConfig } from '../../src/models/zoo.js';

before(async () => {
  await initBackend('wasm');
});

test("maxStrideOf(config) equals the built model's largest stride (every zoo model; BiFPN over P3–P7)", () => {
  const five = parseModelConfig(
    {
      ...serializeModelConfig(resolveModelConfig('yolor-bifpn-n')),
      bifpn_levels: 5,
      anchors: [
        [10, 13, 16, 30, 33, 23],
        [30, 61, 62, 45, 59, 119],
        [116, 90, 156, 198, 373, 326],
        [400, 400, 500, 500, 600, 600],
        [700, 700, 800, 800, 900, 900],
      ],
    },
    'five levels',
  );
  for (const cfg of [...listZoo(), five]) {
    const m = new Detector(cfg, 1);
    assert.equal(maxStrideOf(cfg), m.maxStride, cfg.name);
    m.dispose();
  }
  assert.equal(maxStrideOf(five), 128);
});

test('fitImageSize rounds up to a multiple of the stride and says so; invalid sizes are errors', () => {
  assert.deepEqual(fitImageSize(128, 32), { imgsz: 128, warning: null });
  const r = fitImageSize(100, 32, 'yolor-n');
  assert.equal(r.imgsz, 128);
  assert.match(r.warning!, /image size 100 is not a multiple of the largest stride 32 of yolor-n; using 128/);
  assert.equal(fitImageSize(1, 32).imgsz, 32);
  assert.throws(() => fitImageSize(0, 32), /positive integer; got 0/);
  assert.throws(() => fitImageSize(12.5, 32), /positive integer; got 12.5/);
});

test('the CLI rounds --imgsz up with a warning instead of failing at the first forward pass', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'info', '--model', 'yolor-n', '--imgsz', '100', '--json', '--backend', 'wasm'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: image size 100 is not a multiple of the largest stride 32 of yolor-n; using 128/);
  assert.equal((JSON.parse(r.stdout) as { imgsz: number }).imgsz, 128);
});
