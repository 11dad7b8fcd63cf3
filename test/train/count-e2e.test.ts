/**
 * The count task end to end, as added through the task table (one folder, one
 * registry line): `yolor train --tasks detect,count` writes its columns and its
 * loss falls, `yolor val --json` reports it, `yolor predict` writes the counts
 * into tasks.json, and `yolor info --list-tasks` lists it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { initBackend } from '../../src/engine/backend.js';
import { TASK_NAMES } from '../../src/tasks/registry.js';
import { parseResultsCsv } from '../../src/train/results.js';
import { train } from '../../src/train/trainer.js';
import { tmp } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let work = '';
let data = '';

before(async () => {
  await initBackend('wasm');
  work = tmp('count');
  data = join(work, 'shapes');
  await shapesDataset(data, {
    train: 16,
    val: 8,
    test: 4,
    size: 64,
    minObjects: 1,
    maxObjects: 4,
    minSize: 12,
    maxSize: 28,
    variants: 1,
    seed: 9,
    progress: false,
  });
});

test('train, val, predict and info with the count task', async () => {
  const still = { mosaic: 0, scale: 0, translate: 0, hsv_h: 0, hsv_s: 0, hsv_v: 0, fliplr: 0 };
  const r = await train({
    data,
    model: 'yolor-n',
    epochs: 4,
    batch: 4,
    imgsz: 64,
    project: join(work, 'runs'),
    name: 'count',
    seed: 2,
    workers: 0,
    nbs: 4,
    optimizer: 'adamw',
    lr0: 0.002,
    patience: 50,
    cache: true,
    valSplit: 'val',
    quiet: true,
    hyp: still,
    tasks: ['detect', 'count'],
  });
  const rows = parseResultsCsv(readFileSync(join(r.runDir, 'results.csv'), 'utf8'));
  const head = readFileSync(join(r.runDir, 'results.csv'), 'utf8').split('\n')[0]!;
  assert.ok(head.endsWith(',time,train/count_loss,val/count_loss,metrics/MAE(N),metrics/acc(N)'), head);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  assert.ok(last['train/count_loss']! < first['train/count_loss']!, `count loss ${first['train/count_loss']} → ${last['train/count_loss']}`);
  for (const k of ['val/count_loss', 'metrics/MAE(N)', 'metrics/acc(N)']) assert.ok(Number.isFinite(last[k]), `${k} = ${last[k]}`);

  const best = join(r.runDir, 'weights', 'best');
  const v = spawnSync(process.execPath, [MAIN, 'val', '--weights', best, '--data', data, '--json', '--workers', '1', '--backend', 'wasm'], {
    encoding: 'utf8',
  });
  assert.equal(v.status, 0, v.stderr);
  const j = JSON.parse(v.stdout) as { mAP50: number; tasks: { count: { mae: number; accuracy: number; images: number } } };
  assert.ok(Number.isFinite(j.mAP50));
  assert.equal(j.tasks.count.images, 8);
  assert.ok(Math.abs(j.tasks.count.mae - rows[r.best.epoch - 1]!['metrics/MAE(N)']!) < 1e-6, "val recomputes the best epoch's count MAE");

  const out = join(work, 'pred');
  const p = spawnSync(
    process.execPath,
    [MAIN, 'predict', '--weights', best, '--source', join(data, 'images', 'val'), '--project', out, '--workers', '1', '--backend', 'wasm'],
    { encoding: 'utf8' },
  );
  assert.equal(p.status, 0, p.stderr);
  const tj = JSON.parse(readFileSync(join(out, 'exp', 'tasks.json'), 'utf8')) as Array<{ image: string; counts: Record<string, number> }>;
  assert.equal(tj.length, 8);
  assert.ok(tj.every((t) => typeof t.counts === 'object' && Object.values(t.counts).every((n) => Number.isInteger(n) && n > 0)));
  assert.match(p.stderr, /: counts /);

  const info = spawnSync(process.execPath, [MAIN, 'info', '--list-tasks', '--json'], { encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  const names = (JSON.parse(info.stdout) as Array<{ name: string }>).map((t) => t.name);
  assert.deepEqual(names, [...TASK_NAMES]);
  assert.ok(names.includes('count'));
});
