/**
 * The export check is a gate: an export whose output differs from the tfjs
 * model beyond the tolerance throws ExportCheckError naming the output that
 * differed (here made wrong on purpose: Sigmoid lowered as Tanh), in both
 * formats; `check: false` skips it; the measure keeps boxes and scores apart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { checkVerdict, compareDecodedRows, compareTaskOutput, describeCheck, EXPORT_CHECK_TOLERANCE } from '../../src/export/check-export.js';
import { ExportCheckError, exportDetector } from '../../src/export/export-model.js';
import { ONNX_RULES } from '../../src/export/onnx/index.js';
import { TFJS_RULES } from '../../src/export/tfjs/index.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import { perturb } from '../helpers/perturb.js';
import { tmp } from '../helpers/tmp.js';
import { NAMES, smallConfig, testModel } from './onnx-helpers.js';

let dir = '';
before(async () => {
  await initBackend('wasm');
  dir = tmp('export-gate');
});

test('boxes are measured relative to the largest box value, scores absolutely, and the worst entry is named', () => {
  const no = 5 + NAMES.length;
  const ref = Float32Array.from([100, 200, 50, 40, 0.9, 0.1, 0.2, 0.3, /* row 1 */ 10, 20, 30, 40, 0.5, 0.5, 0.5, 0.5]);
  const got = Float32Array.from(ref);
  got[8 + 6] = 0.5 + 3e-3; // row 1, class 1 score: 3e-3 absolute, which a single relative figure (÷ 200) would call 1.5e-5
  got[0] = 100 + 0.02; // 1e-4 of the largest box value
  const d = compareDecodedRows(got, ref, no, NAMES);
  assert.ok(Math.abs(d.box - 1e-4) < 1e-6, String(d.box));
  assert.ok(Math.abs(d.score - 3e-3) < 1e-6, String(d.score));
  assert.deepEqual([d.worst.row, d.worst.column], [1, 6]);
  assert.equal(d.worst.what, `class 1 (${NAMES[1]}) score`);
  const v = checkVerdict(d, 'test engine');
  assert.equal(v.passed, false);
  assert.match(describeCheck(v), /FAILED.*detections row 1, class 1 \(square\) score/);
  assert.equal(checkVerdict(d, 'e', 5e-3).passed, true);
  got[3] = Number.NaN;
  assert.equal(checkVerdict(compareDecodedRows(got, ref, no), 'e', 1).passed, false, 'NaN never passes');
  assert.throws(() => checkVerdict(d, 'e', -1), /tolerance must be a finite number ≥ 0/);
  assert.throws(() => compareDecodedRows(got, ref.subarray(0, 8), no), /gives 16 output values, the tfjs model 8/);
});

for (const [format, rules] of [
  ['onnx', ONNX_RULES],
  ['tfjs', TFJS_RULES],
] as const) {
  test(`${format}: an export that computes something else fails the check and names the output; check: false skips it`, async () => {
    const model = testModel(smallConfig('yolor-n'));
    const table = rules as Record<string, unknown>;
    const sigmoid = table.Sigmoid;
    try {
      const ok = await exportDetector(model, join(dir, `ok-${format}`), { format, imgsz: 64 });
      assert.equal(ok.check!.passed, true);
      assert.ok(ok.check!.box <= EXPORT_CHECK_TOLERANCE && ok.check!.score <= EXPORT_CHECK_TOLERANCE);
      table.Sigmoid = table.Tanh;
      const path = join(dir, `bad-${format}`);
      await assert.rejects(exportDetector(model, path, { format, imgsz: 64 }), (err: unknown) => {
        assert.ok(err instanceof ExportCheckError);
        assert.equal(err.result.check.passed, false);
        assert.match(
          err.message,
          /check FAILED: .* worst at detections row \d+, (box c[xy]|box [wh]|objectness|class \d \(\w+\) score): export -?[0-9.e-]+ vs tfjs/,
        );
        assert.match(err.message, /do not deploy it/);
        return true;
      });
      assert.ok(existsSync(path), 'the failed export stays on disk for inspection');
      const skipped = await exportDetector(model, join(dir, `unchecked-${format}`), { format, imgsz: 64, check: false });
      assert.equal(skipped.check, null);
    } finally {
      table.Sigmoid = sigmoid;
      model.dispose();
    }
  });
}

test('task outputs: label probabilities compared absolutely, segment logits relative to the largest; a failing one is named', () => {
  const rows = compareDecodedRows(Float32Array.from([1, 1, 1, 1, 0.5, 0.5]), Float32Array.from([1, 1, 1, 1, 0.5, 0.5]), 6);
  const labels = compareTaskOutput('labels', Float32Array.from([0.5, 0.21]), Float32Array.from([0.5, 0.2]));
  assert.ok(Math.abs(labels.difference - 0.01) < 1e-6 && labels.measure === 'absolute' && labels.worst.index === 1);
  const segment = compareTaskOutput('segment', Float32Array.from([10, -20, 5.001]), Float32Array.from([10, -20, 5]));
  assert.ok(Math.abs(segment.difference - 0.001 / 20) < 1e-7 && segment.measure === 'relative');
  const v = checkVerdict(rows, 'e', 1e-4, [labels, segment]);
  assert.equal(v.passed, false);
  assert.match(
    describeCheck(v),
    /^check FAILED: .*labels difference 1\.00e-2 \(absolute\), segment difference 5\.00e-5 \(relative\); tolerance 1e-4; output labels differs most at element 1: export 0\.21 vs tfjs 0\.2$/,
  );
  assert.doesNotMatch(describeCheck(v), /output segment differs/);
  assert.equal(checkVerdict(rows, 'e', 2e-2, [labels, segment]).passed, true);
});

test('a multi-task export is checked on every output (detections, labels, segment), in both formats', async () => {
  const cfg = parseModelConfig(
    {
      ...serializeModelConfig(resolveModelConfig('yolor-n')),
      nc: NAMES.length,
      names: NAMES,
      tasks: ['detect', 'classify', 'segment'],
      num_labels: NAMES.length + 2,
      task_implicit: 'add',
    },
    'multi-task gate',
  );
  const model = new Detector(cfg, 5);
  perturb(model, 9);
  model.eval();
  try {
    for (const format of ['onnx', 'tfjs'] as const) {
      const r = await exportDetector(model, join(dir, `mt-${format}${format === 'onnx' ? '.onnx' : ''}`), { format, imgsz: 64, batch: 2 });
      assert.deepEqual(
        r.check!.tasks.map((t) => t.output),
        ['labels', 'segment'],
        format,
      );
      for (const t of r.check!.tasks) assert.ok(t.difference <= EXPORT_CHECK_TOLERANCE, `${format} ${t.output}: ${t.difference}`);
      assert.match(describeCheck(r.check!), /labels difference .* segment difference .*: passed/);
    }
  } finally {
    model.dispose();
  }
});
