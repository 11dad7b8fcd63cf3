/**
 * The pre-flight image check: every image is decoded (a truncated JPEG's header
 * alone looks fine), on the main thread or in worker threads with the same
 * report; verdicts are cached by path, size and mtime, and a changed file is
 * decoded again; train and val abort listing the bad files, or skip and count them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readVoc } from '../../src/data/formats/voc/read.js';
import { readImageSize } from '../../src/data/image-io.js';
import { datasetSplit } from '../../src/data/resolve.js';
import type { ImageRecord } from '../../src/data/types.js';
import { applyImageReport, type ImageReport, verifyImages } from '../../src/data/verify.js';
import { initBackend } from '../../src/engine/backend.js';
import { train } from '../../src/train/trainer.js';
import { bccdWithBadImages } from '../helpers/bad-images.js';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';
import { tmp } from '../helpers/tmp.js';

const NO_BCCD = !HAS_BCCD && 'shared BCCD data not present';
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `name: problem` of each bad entry, sorted. */
function problems(v: ImageReport): string[] {
  return v.bad.map((b) => `${basename(b.file)}: ${b.problem}`).sort();
}

test('missing, corrupt and mis-sized images are reported by file; abort unless skipping', async () => {
  const dir = tmp('verify');
  const good = join(dir, 'good.png');
  await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } })
    .png()
    .toFile(good);
  const corrupt = join(dir, 'corrupt.jpg');
  writeFileSync(corrupt, 'this is not a jpeg');
  const rec = (id: number, file: string, width = 8, height = 6): ImageRecord => ({ id, file, width, height, annotations: [] });
  const records = [rec(0, good), rec(1, join(dir, 'missing.jpg')), rec(2, corrupt), rec(3, good, 16, 6)];
  const v = await verifyImages(records, { cacheFile: join(dir, 'check.json') });
  assert.deepEqual(
    v.good.map((r) => r.id),
    [0],
  );
  const byFile = problems(v);
  assert.equal(byFile.length, 3);
  assert.match(byFile[0]!, /^corrupt\.jpg: cannot decode image/);
  assert.match(byFile[1]!, /^good\.png: image is 8x6 but its annotation says 16x6$/);
  assert.match(byFile[2]!, /^missing\.jpg: image file not found$/);
  // good.png is one file for two records; the missing one is not decoded (nor cached)
  assert.deepEqual([v.files, v.decoded, v.cached], [3, 2, 0]);
  assert.throws(
    () => applyImageReport('train', v, false, () => undefined),
    (err: Error) => {
      // One line (what the CLI prints), every file with its problem, in the records' order.
      assert.equal(
        err.message,
        `3 unreadable image(s) in the train split (use --skip-bad to skip them): ${join(dir, 'missing.jpg')}: image file not found; ` +
          `${corrupt}: ${v.bad[1]!.problem}; ${good}: image is 8x6 but its annotation says 16x6`,
      );
      return true;
    },
  );
  const logged: string[] = [];
  const kept = applyImageReport('train', v, true, (s) => logged.push(s));
  assert.deepEqual(
    kept.map((r) => r.id),
    [0],
  );
  assert.match(logged[0]!, /^skipping 3 unreadable image\(s\) in the train split/);
  assert.ok(v.bad.every((b) => b.action === 'skipped'));
  // the annotated size is compared on every check, also from a cached verdict
  const again = await verifyImages(records, { cacheFile: join(dir, 'check.json') });
  assert.deepEqual([again.cached, again.decoded], [2, 0]);
  assert.deepEqual(problems(again), byFile);
});

test('a truncated BCCD image and random bytes named .jpg are decoded and flagged, naming the file; workers give the same report', {
  skip: NO_BCCD,
}, async () => {
  const data = bccdWithBadImages(tmp('verify-bccd'));
  const records = datasetSplit(readVoc(data.root), 'train');
  assert.equal(records.length, 5);
  // The header of the truncated copy is intact: reading the size alone does not find it.
  assert.deepEqual(await readImageSize(data.truncated), { width: 640, height: 480 });
  const onMain = await verifyImages(records, { cacheFile: null, workers: 0 });
  const inWorkers = await verifyImages(records, { cacheFile: null, workers: 2 });
  for (const v of [onMain, inWorkers]) {
    assert.deepEqual(
      v.good.map((r) => r.file),
      data.train,
    );
    assert.deepEqual(
      v.bad.map((b) => b.file),
      [data.truncated, data.random],
    );
    assert.deepEqual([v.files, v.decoded, v.cached], [5, 5, 0]);
    const [t, r] = v.bad;
    assert.match(t!.problem, /^cannot decode image \(truncated: the file ends inside the image data, after \d+ bytes\)$/);
    assert.match(r!.problem, /^cannot decode image \(Input buffer contains unsupported image format\)$/);
  }
  assert.deepEqual(inWorkers.bad, onMain.bad);
  assert.throws(
    () => applyImageReport('train', onMain, false, () => undefined),
    (err: Error) => {
      assert.match(err.message, /^2 unreadable image\(s\) in the train split \(use --skip-bad to skip them\): [^\n]+$/);
      assert.ok(err.message.includes(`: ${data.truncated}: cannot decode image (`), err.message);
      assert.ok(err.message.includes(`; ${data.random}: cannot decode image (`), err.message);
      return true;
    },
  );
});

test('verdicts are cached by path, size and mtime: an unchanged file is not decoded again, a changed one is', { skip: NO_BCCD }, async () => {
  const data = bccdWithBadImages(tmp('verify-cache'));
  const records = datasetSplit(readVoc(data.root), 'train');
  const cacheFile = join(tmp('verify-cache-dir'), 'image-check.json');
  // Whole-second mtimes, so that setting them again restores them exactly.
  const T = 1_700_000_000;
  for (const r of records) utimesSync(r.file, T, T);
  const check = () => verifyImages(records, { cacheFile, workers: 1 });
  const cold = await check();
  assert.deepEqual([cold.decoded, cold.cached], [5, 0]);
  const warm = await check();
  assert.deepEqual([warm.decoded, warm.cached], [0, 5]);
  assert.deepEqual(warm.bad, cold.bad);
  assert.deepEqual(warm.good, cold.good);

  // Same size and mtime, different bytes: the cached verdict stands (proof that nothing was decoded).
  const good = data.train[0]!;
  const original = readFileSync(good);
  writeFileSync(good, Buffer.alloc(original.length, 0x5a));
  utimesSync(good, T, T);
  const stale = await check();
  assert.deepEqual([stale.decoded, stale.cached], [0, 5]);
  assert.ok(!stale.bad.some((b) => b.file === good));

  // A different mtime: decoded again, and now bad.
  utimesSync(good, T + 1, T + 1);
  const touched = await check();
  assert.deepEqual([touched.decoded, touched.cached], [1, 4]);
  assert.match(touched.bad.find((b) => b.file === good)?.problem ?? '', /^cannot decode image/);

  // A different size with the recorded mtime: decoded again. The truncated image made whole is good.
  writeFileSync(data.truncated, readFileSync(join(BCCD, 'JPEGImages', 'BloodImage_00010.jpg')));
  utimesSync(data.truncated, T, T);
  assert.equal(statSync(data.truncated).mtimeMs, T * 1000);
  const grown = await check();
  assert.deepEqual([grown.decoded, grown.cached], [1, 4]);
  assert.deepEqual(grown.bad.map((b) => b.file).sort(), [good, data.random].sort());

  // A damaged cache file is ignored and rewritten.
  writeFileSync(cacheFile, '{ not json');
  const rebuilt = await check();
  assert.deepEqual([rebuilt.decoded, rebuilt.cached], [5, 0]);
  assert.deepEqual(rebuilt.bad, grown.bad);
  assert.deepEqual([(await check()).cached], [5]);
});

test('train and val abort before starting, listing the bad images; with skip-bad they skip them, count them and use the rest', {
  skip: NO_BCCD,
}, async () => {
  await initBackend('wasm');
  const data = bccdWithBadImages(tmp('verify-train'), 4, 2);
  const saved = process.env.YOLOR_CACHE_DIR;
  process.env.YOLOR_CACHE_DIR = tmp('verify-train-cache');
  try {
    const opts = {
      data: data.root,
      model: 'yolor-n',
      epochs: 1,
      batch: 2,
      imgsz: 64,
      project: join(tmp('verify-runs'), 'runs'),
      name: 'skip',
      seed: 1,
      workers: 0,
      optimizer: 'sgd' as const,
      patience: 10,
      cache: false,
      valSplit: 'val',
      quiet: true,
    };
    await assert.rejects(train(opts), (err: Error) => {
      assert.match(err.message, /^2 unreadable image\(s\) in the train split \(use --skip-bad to skip them\):/);
      assert.ok(err.message.includes(data.truncated) && err.message.includes(data.random), err.message);
      return true;
    });
    // One whole epoch over every kept image: a bad image reaching the loader would abort it.
    const r = await train({ ...opts, skipBad: true });
    assert.equal(r.rows.length, 1);
    assert.equal(r.interrupted, false);
    assert.deepEqual(
      r.skippedImages.map((b) => [b.file, b.action]),
      [
        [data.truncated, 'skipped'],
        [data.random, 'skipped'],
      ],
    );

    // val on the same split: aborts with the list (exit 1), or skips and says so.
    const val = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          main,
          'val',
          '--weights',
          join(r.runDir, 'weights', 'best'),
          '--data',
          data.root,
          '--split',
          'train',
          '--imgsz',
          '64',
          '--batch',
          '2',
          '--workers',
          '0',
          '--backend',
          'wasm',
          '--json',
          ...extra,
        ],
        { encoding: 'utf8' },
      );
    const refused = val();
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /2 unreadable image\(s\) in the train split \(use --skip-bad to skip them\)/);
    assert.ok(refused.stderr.includes(data.truncated) && refused.stderr.includes(data.random), refused.stderr);
    const skipped = val('--skip-bad');
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.match(skipped.stderr, /skipping 2 unreadable image\(s\) in the train split:\n {2}\S*truncated\.jpg: cannot decode image/);
    assert.ok(Number.isFinite((JSON.parse(skipped.stdout) as { mAP50: number }).mAP50));
  } finally {
    if (saved === undefined) delete process.env.YOLOR_CACHE_DIR;
    else process.env.YOLOR_CACHE_DIR = saved;
  }
});
