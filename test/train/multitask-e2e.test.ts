/**
 * The unified multi-task network end to end on tiny generated data: training
 * detect + classify + segment + embed lowers every task's loss and writes every
 * task's columns and curves; `yolor val` reports every task; learned
 * (uncertainty) task weights move; a task whose labels the dataset lacks is a
 * clear error; the multi-task checkpoint exports (detections, then the labels
 * and segment outputs; yolor predict runs the export); and
 * `yolor ablate` writes its table and chart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { writeDataset } from '../../src/data/formats/registry.js';
import { initBackend } from '../../src/engine/backend.js';
import { readOnnxMetadata } from '../../src/export/onnx/index.js';
import { loadModel } from '../../src/models/checkpoint.js';
import { parseResultsCsv } from '../../src/train/results.js';
import { type TrainOptions, train } from '../../src/train/trainer.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'yolor-multitask-'));
const data = join(work, 'shapes');
let voc = '';

before(async () => {
  await initBackend('wasm');
  const ds = await shapesDataset(data, {
    train: 16,
    val: 24,
    test: 4,
    size: 64,
    minObjects: 1,
    maxObjects: 3,
    minSize: 16,
    maxSize: 40,
    variants: 1,
    seed: 5,
    progress: false,
  });
  const written = await writeDataset(ds, 'voc', join(work, 'voc'));
  voc = (written as { data?: string }).data ?? join(work, 'voc');
});

// No augmentation: the run must fit its 16 images, so every loss has to fall.
const still = { mosaic: 0, scale: 0, translate: 0, hsv_h: 0, hsv_s: 0, hsv_v: 0, fliplr: 0 };

function options(name: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data,
    model: 'yolor-n',
    epochs: 6,
    batch: 4,
    imgsz: 64,
    project: join(work, 'runs'),
    name,
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
    tasks: ['detect', 'classify', 'segment', 'embed'],
    ...extra,
  };
}

test('four tasks on one network: every loss falls, every metric is reported', async () => {
  const r = await train(options('all'));
  const rows = parseResultsCsv(readFileSync(join(r.runDir, 'results.csv'), 'utf8'));
  assert.equal(rows.length, 6);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const det = (x: typeof first): number => x['train/box_loss'] + x['train/obj_loss'] + x['train/cls_loss'];
  assert.ok(det(last) < det(first), `detection loss ${det(first)} → ${det(last)}`);
  for (const k of ['train/classify_loss', 'train/seg_loss', 'train/emb_loss'] as const) {
    assert.ok(Number.isFinite(first[k]!) && last[k]! < first[k]!, `${k}: ${first[k]} → ${last[k]}`);
  }
  for (const k of ['metrics/mAP(C)', 'metrics/F1(C)', 'metrics/mIoU(S)', 'metrics/top1(E)', 'metrics/mAP(E)', 'metrics/mAP50(B)'] as const) {
    assert.ok(Number.isFinite(last[k]!), `${k} is reported`);
  }
  for (const f of ['results.png', 'weights/best/model.json', 'weights/last/state.json']) assert.ok(existsSync(join(r.runDir, f)), f);
  const { model } = await loadModel(join(r.runDir, 'weights', 'best'));
  assert.deepEqual(model.config.tasks, ['detect', 'classify', 'segment', 'embed']);
  assert.equal(model.config.numLabels, 6 + 7, 'classes then colour attributes');
  model.dispose();

  // yolor val reports every task.
  const v = spawnSync(
    process.execPath,
    [MAIN, 'val', '--weights', join(r.runDir, 'weights', 'best'), '--data', data, '--json', '--workers', '1', '--backend', 'wasm'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(v.status, 0, v.stderr);
  const j = JSON.parse(v.stdout) as { mAP50: number; tasks: Record<string, Record<string, number>> };
  assert.ok(Number.isFinite(j.mAP50));
  // The best checkpoint holds the EMA weights validated at its epoch: val on the same engine recomputes that epoch's metrics.
  const bestRow = rows[r.best.epoch - 1]!;
  for (const [task, key, column] of [
    ['classify', 'mAP', 'metrics/mAP(C)'],
    ['segment', 'mIoU', 'metrics/mIoU(S)'],
  ] as const) {
    const got = j.tasks[task]![key]!;
    assert.ok(Math.abs(got - bestRow[column]!) < 1e-4, `val's ${task} ${key} ${got} vs ${bestRow[column]} at the best epoch (${r.best.epoch})`);
  }
  assert.ok(Number.isFinite(j.tasks.segment!.mIoU!));
  assert.ok(Number.isFinite(j.tasks.embed!.top1!) && j.tasks.embed!.queries! > 0);

  // yolor predict adds the other tasks' outputs.
  const images = join(data, 'images', 'val');
  const pr = spawnSync(
    process.execPath,
    [MAIN, 'predict', '--weights', join(r.runDir, 'weights', 'best'), '--source', images, '--project', join(work, 'pred'), '--workers', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(pr.status, 0, pr.stderr);
  const tj = JSON.parse(readFileSync(join(work, 'pred', 'exp', 'tasks.json'), 'utf8')) as Array<{
    image: string;
    labels: Array<{ name: string }>;
    segmentation: string;
    embeddings: number[][];
  }>;
  assert.equal(tj.length, 24);
  assert.ok(existsSync(join(work, 'pred', 'exp', tj[0]!.segmentation)));
  assert.ok(tj.every((t) => Array.isArray(t.labels) && Array.isArray(t.embeddings) && t.embeddings.every((e) => e.length === 32)));

  // A multi-task checkpoint exports with its classify and segment heads as extra outputs (task codes folded
  // away with the rest; the embed head is not exported), and yolor predict runs the export on its detections.
  const out = join(work, 'mt.onnx');
  const e = spawnSync(process.execPath, [MAIN, 'export', '--weights', join(r.runDir, 'weights', 'best'), '--output', out, '--backend', 'wasm'], {
    encoding: 'utf8',
  });
  assert.equal(e.status, 0, e.stderr);
  const meta = await readOnnxMetadata(out);
  assert.deepEqual(meta.outputs, ['detections', 'labels', 'segment']);
  assert.equal(meta.tasks!.labels!.names.length, 6 + 7);
  assert.deepEqual(meta.tasks!.labels!.names.slice(6), ['red', 'green', 'blue', 'yellow', 'magenta', 'cyan', 'white']);
  const po = spawnSync(
    process.execPath,
    [MAIN, 'predict', '--weights', out, '--source', images, '--project', join(work, 'pred-onnx'), '--backend', 'wasm'],
    { encoding: 'utf8' },
  );
  assert.equal(po.status, 0, po.stderr);
});

test('learned task weights (homoscedastic uncertainty) move away from their start', async () => {
  const r = await train(options('uncertainty', { epochs: 2, uncertainty: true, tasks: ['detect', 'segment'] }));
  const { model } = await loadModel(join(r.runDir, 'weights', 'last'));
  assert.equal(model.config.taskWeighting, 'uncertainty');
  const w = model.taskBalance!.weights();
  assert.ok(Math.abs(w.detect! - 0.5) > 1e-4 && Math.abs(w.segment! - 0.5) > 1e-4, `weights moved: ${JSON.stringify(w)}`);
  model.dispose();
});

test('a task whose labels the dataset lacks is a clear error', () => {
  const p = spawnSync(
    process.execPath,
    [MAIN, 'train', '--data', voc, '--tasks', 'detect,segment', '--epochs', '1', '--imgsz', '64', '--project', join(work, 'runs')],
    { encoding: 'utf8' },
  );
  assert.notEqual(p.status, 0);
  assert.match(p.stderr, /segment task needs per-instance masks/);
  const q = spawnSync(process.execPath, [MAIN, 'train', '--data', voc, '--tasks', 'embed', '--epochs', '1', '--project', join(work, 'runs')], {
    encoding: 'utf8',
  });
  assert.notEqual(q.status, 0);
  assert.match(q.stderr, /embed/);
  const u = spawnSync(process.execPath, [MAIN, 'train', '--tasks', 'detect,depth', '--project', join(work, 'runs')], { encoding: 'utf8' });
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /unknown task 'depth'/);
});

test('yolor ablate trains each variant and writes the table and chart', () => {
  const p = spawnSync(
    process.execPath,
    [
      MAIN,
      'ablate',
      '--suite',
      'feature-alignment',
      '--data',
      data,
      '--seeds',
      '1',
      '--epochs',
      '1',
      '--imgsz',
      '64',
      '--batch',
      '4',
      '--limit-train',
      '8',
      '--limit-val',
      '4',
      '--project',
      join(work, 'ablate'),
      '--workers',
      '0',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(p.status, 0, p.stderr);
  const dir = join(work, 'ablate', 'feature-alignment');
  for (const f of ['results.md', 'results.json', 'chart.png', 'configs/none.yaml', 'configs/concat.yaml']) assert.ok(existsSync(join(dir, f)), f);
  const md = readFileSync(join(dir, 'results.md'), 'utf8');
  for (const v of ['none', 'add', 'mul', 'concat']) assert.match(md, new RegExp(`\\| ${v} \\|`));
  const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
    variants: Array<{ variant: string; params: number; deployParams: number; gflops: number }>;
  };
  assert.equal(json.variants.length, 4);
  // Implicit alignment adds training parameters; every variant folds to exactly the plain model's deploy size.
  const none = json.variants.find((v) => v.variant === 'none')!;
  for (const v of json.variants) {
    assert.ok(v.gflops > 0);
    assert.equal(v.deployParams, none.deployParams, `${v.variant} deploy parameters`);
    if (v.variant !== 'none') assert.ok(v.params > none.params, `${v.variant} trains extra implicit parameters`);
  }
});
