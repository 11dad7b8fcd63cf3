/**
 * End to end on tiny data: train 2 epochs on a few generated shapes images,
 * stop after a few batches and resume to the same result as an uninterrupted
 * run, and load the saved model.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { writeDataset } from '../../src/data/formats/registry.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/models/checkpoint.js';
import { fitness, parseResultsCsv } from '../../src/train/results.js';
import { type TrainOptions, train } from '../../src/train/trainer.js';

let data = '';
const work = mkdtempSync(join(tmpdir(), 'yolor-train-'));

before(async () => {
  await initBackend('wasm');
  const ds = await shapesDataset(join(work, 'shapes'), {
    train: 12,
    val: 4,
    test: 4,
    size: 64,
    minObjects: 1,
    maxObjects: 2,
    minSize: 16,
    maxSize: 40,
    seed: 3,
  });
  const written = await writeDataset(ds, 'voc', join(work, 'voc'));
  data = (written as { data?: string }).data ?? join(work, 'voc');
});

function options(name: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data,
    model: 'yolor-n',
    epochs: 2,
    batch: 4,
    imgsz: 64,
    project: join(work, 'runs'),
    name,
    seed: 1,
    workers: 0,
    optimizer: 'sgd',
    patience: 10,
    cache: true,
    valSplit: 'val',
    quiet: true,
    ...extra,
  };
}

test('train writes the run folder and resumes exactly where an interrupted run stopped', async () => {
  const full = await train(options('full'));
  assert.equal(full.rows.length, 2);
  for (const f of [
    'args.yaml',
    'labels.png',
    'results.csv',
    'results.png',
    'PR_curve.png',
    'confusion_matrix.png',
    'val_batch0.png',
    'weights/last/model.json',
    'weights/last/state.json',
    'weights/best/model.json',
  ]) {
    assert.ok(existsSync(join(full.runDir, f)), `${f} exists`);
  }
  const csv = parseResultsCsv(readFileSync(join(full.runDir, 'results.csv'), 'utf8'));
  assert.equal(csv.length, 2);
  assert.ok(Number.isFinite(csv[1]!['train/box_loss']));
  assert.ok(Math.abs(full.best.fitness - Math.max(...csv.map(fitness))) < 1e-6);

  // 3 batches per epoch: stop after 4 (inside epoch 2), then resume.
  const part = await train(options('part', { maxBatches: 4 }));
  assert.equal(part.interrupted, true);
  // Resuming from the run's weights/last checkpoint (or the run folder) continues that run.
  const resumed = await train(options('ignored', { resume: join(part.runDir, 'weights', 'last') }));
  assert.equal(resumed.runDir, part.runDir);
  assert.equal(resumed.rows.length, 2);
  const a = full.rows[1]!;
  const b = resumed.rows[1]!;
  for (const k of ['train/box_loss', 'metrics/mAP50-95(B)', 'val/box_loss', 'val/obj_loss'] as const) {
    assert.ok(Math.abs(a[k] - b[k]) <= 1e-4 * Math.max(1, Math.abs(a[k])), `${k}: ${a[k]} vs ${b[k]}`);
  }
  const { model, metadata } = await loadModel(join(full.runDir, 'weights', 'best'));
  assert.equal(model.config.nc, 6);
  assert.equal((metadata.names as string[]).length, 6);
  // Where the validation images are (yolor serve-demo opens on a few of them).
  assert.deepEqual(metadata.data, { source: data, split: 'val' });
  model.dispose();

  // predict and val from the CLI on the saved weights
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const images = join(work, 'voc', 'JPEGImages');
  const out = join(work, 'predict');
  const p = spawnSync(
    process.execPath,
    [
      main,
      'predict',
      '--weights',
      join(full.runDir, 'weights', 'best'),
      '--source',
      images,
      '--conf',
      '0.001',
      '--save-txt',
      '--save-json',
      '--project',
      out,
      '--name',
      'p',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(p.status, 0, p.stderr);
  const dir = join(out, 'p');
  const pngs = readdirSync(dir).filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, readdirSync(images).length);
  assert.ok(existsSync(join(dir, 'labels')));
  const json = JSON.parse(readFileSync(join(dir, 'predictions.json'), 'utf8')) as Array<{ bbox: number[]; score: number }>;
  assert.ok(json.every((d) => d.bbox.length === 4 && d.score >= 0.001));
  const v = spawnSync(
    process.execPath,
    [
      main,
      'val',
      '--weights',
      join(full.runDir, 'weights', 'best'),
      '--data',
      data,
      '--split',
      'val',
      '--imgsz',
      '64',
      '--json',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(v.status, 0, v.stderr);
  const r = JSON.parse(v.stdout) as { mAP50_95: number; stats: number[]; speed_ms: { inference: number } };
  assert.equal(r.stats.length, 12);
  // The best checkpoint holds the EMA weights validated at its epoch: `val` reproduces that number.
  const bestRow = full.rows[full.best.epoch - 1]!;
  assert.ok(Math.abs(r.mAP50_95 - bestRow['metrics/mAP50-95(B)']) < 1e-6, `${r.mAP50_95} vs ${bestRow['metrics/mAP50-95(B)']}`);

  // export the best weights (the recorded training size, 64) to ONNX and TF.js: both check themselves
  // against the tfjs model, and `val` / `predict` on the exports give the checkpoint's results.
  const best = join(full.runDir, 'weights', 'best');
  for (const [format, output] of [
    ['onnx', join(work, 'best.onnx')],
    ['tfjs', join(work, 'best_web_model')],
  ] as const) {
    const e = spawnSync(process.execPath, [main, 'export', '--weights', best, '--format', format, '--output', output, '--backend', 'wasm'], {
      encoding: 'utf8',
    });
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /input \[1, (3, 64, 64|64, 64, 3)\]/);
    const m = /box difference ([0-9.e+-]+) \(relative\), score difference ([0-9.e+-]+) \(absolute\); tolerance 1e-4: passed/.exec(e.stdout);
    assert.ok(m, e.stdout);
    const diff = Math.max(Number(m[1]), Number(m[2]));
    assert.ok(diff <= 1e-4, `${format}: export check ${diff}`);
    if (diff > 0) {
      // The check is a gate: below the measured difference the export fails (exit 1) and names where.
      const g = spawnSync(
        process.execPath,
        [main, 'export', '--weights', best, '--format', format, '--output', `${output}-gate`, '--tol', String(diff / 2), '--backend', 'wasm'],
        { encoding: 'utf8' },
      );
      assert.equal(g.status, 1, g.stdout + g.stderr);
      assert.match(g.stderr, /check FAILED: .* worst at detections row \d+, .*: export .* vs tfjs .* do not deploy it/);
    }
    const ve = spawnSync(process.execPath, [main, 'val', '--weights', output, '--data', data, '--split', 'val', '--json', '--backend', 'wasm'], {
      encoding: 'utf8',
    });
    assert.equal(ve.status, 0, ve.stderr);
    const re = JSON.parse(ve.stdout) as { mAP50_95: number; mAP50: number; engine: string };
    assert.match(re.engine, format === 'onnx' ? /onnxruntime-node/ : /graph model/);
    assert.ok(Math.abs(re.mAP50_95 - r.mAP50_95) <= 0.002, `${format}: mAP50-95 ${re.mAP50_95} vs ${r.mAP50_95}`);
    const pe = spawnSync(
      process.execPath,
      [
        main,
        'predict',
        '--weights',
        output,
        '--source',
        images,
        '--conf',
        '0.001',
        '--save-json',
        '--project',
        out,
        '--name',
        `p-${format}`,
        '--backend',
        'wasm',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(pe.status, 0, pe.stderr);
    const dets = JSON.parse(readFileSync(join(out, `p-${format}`, 'predictions.json'), 'utf8')) as Array<{
      bbox: number[];
      score: number;
      category_id: number;
    }>;
    // Scores within float noise of the 0.001 threshold (or of an NMS tie) may flip: counts agree to 2 %.
    assert.ok(Math.abs(dets.length - json.length) <= 0.02 * json.length, `${format}: ${dets.length} vs ${json.length} detections`);
    const key = (d: { score: number }) => -d.score;
    const a1 = [...json].sort((x, y) => key(x) - key(y));
    const b1 = [...dets].sort((x, y) => key(x) - key(y));
    a1.slice(0, 20).forEach((d, i) => {
      assert.ok(Math.abs(d.score - b1[i]!.score) < 1e-4, `${format}: score ${d.score} vs ${b1[i]!.score}`);
    });
  }
  const bad = spawnSync(process.execPath, [main, 'export', '--weights', best, '--format', 'tfjs', '--nms'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--nms is only available for --format onnx/);
});
