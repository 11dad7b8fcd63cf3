/**
 * The training process entry (train/run-process.ts) that ablate runs: the same
 * options give the same run as train() in this process (results.csv and
 * args.yaml, all but the times), with `yolor train`'s output in the log; bad
 * input and a failing run are one clear line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { initBackend } from '../../src/engine/backend.js';
import { TRAIN_DEFAULTS } from '../../src/train/defaults.js';
import { trainInProcess } from '../../src/train/run-process.js';
import { type TrainOptions, train } from '../../src/train/trainer.js';
import { tmp } from '../helpers/tmp.js';

const ENTRY = fileURLToPath(new URL('../../src/train/run-process.js', import.meta.url));
const work = tmp('run-process');
const data = join(work, 'shapes');

before(async () => {
  await initBackend('wasm');
  await shapesDataset(data, {
    train: 8,
    val: 4,
    test: 2,
    size: 64,
    minObjects: 1,
    maxObjects: 2,
    minSize: 16,
    maxSize: 32,
    variants: 1,
    seed: 7,
    progress: false,
  });
});

function options(project: string): TrainOptions {
  return {
    data,
    model: 'yolor-n',
    epochs: 2,
    batch: 4,
    imgsz: 64,
    project: join(work, project),
    name: 'run',
    seed: 3,
    workers: 0,
    ...TRAIN_DEFAULTS,
    cache: true,
    valSplit: 'val',
    tasks: ['detect'],
  };
}

/** results.csv without its time column. */
function resultsWithoutTime(runDir: string): string[][] {
  const rows = readFileSync(join(runDir, 'results.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const t = rows[0]!.indexOf('time');
  assert.ok(t >= 0);
  return rows.map((r) => r.filter((_, i) => i !== t));
}

test('a run in its own process equals the same run in this one; the log reads like yolor train', async () => {
  const here = await train({ ...options('here'), quiet: true });
  const log = join(work, 'there.log');
  await trainInProcess(options('there'), log, 'wasm');
  const there = join(work, 'there', 'run');
  assert.deepEqual(resultsWithoutTime(there), resultsWithoutTime(here.runDir));
  assert.equal(
    readFileSync(join(there, 'args.yaml'), 'utf8').replaceAll(join(work, 'there'), 'PROJECT'),
    readFileSync(join(here.runDir, 'args.yaml'), 'utf8').replaceAll(join(work, 'here'), 'PROJECT'),
  );
  const text = readFileSync(log, 'utf8');
  assert.match(text, /^backend: wasm \(/);
  assert.match(text, /epoch 2\/2: box /);
  assert.ok(text.includes(`done: ${there}\n`), text);
  assert.ok(text.includes(`  weights: ${there}/weights/best, ${there}/weights/last; plots and results.csv in ${there}\n`), text);
});

test('a failing run rejects with the end of its log', async () => {
  const log = join(work, 'fail.log');
  await assert.rejects(
    trainInProcess({ ...options('fail'), data: join(work, 'no-such-data') }, log),
    (e: Error) => e.message.startsWith(`training run failed (exit 1); log ${log}:`) && /\n {2}train: .*no-such-data/.test(e.message),
  );
});

test('the entry takes the options from a file or stdin; anything but a JSON object is one line and exit 1', () => {
  const bad = spawnSync(process.execPath, [ENTRY], { input: '{"data": "x",}', encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "train: <stdin>:1:14: malformed JSON: trailing comma before '}'\n");
  const list = spawnSync(process.execPath, [ENTRY, '-'], { input: '[1]', encoding: 'utf8' });
  assert.equal(list.status, 1);
  assert.equal(list.stderr, 'train: <stdin>: expected a JSON object of training options\n');
  const missing = spawnSync(process.execPath, [ENTRY, join(work, 'nope.json')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `train: ${join(work, 'nope.json')}: no such file\n`);
  const file = join(work, 'options.json');
  writeFileSync(file, JSON.stringify({ ...options('file'), data: join(work, 'no-such-data'), backend: 'cpu' }));
  const fromFile = spawnSync(process.execPath, [ENTRY, file], { encoding: 'utf8' });
  assert.equal(fromFile.status, 1);
  assert.match(fromFile.stderr, /^backend: cpu \(/, 'the backend asked for');
  assert.match(fromFile.stderr, /\ntrain: .*no-such-data.*\n$/, 'the options reach train()');
});
