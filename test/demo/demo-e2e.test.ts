/**
 * End-to-end check of the browser demo: `serveDemo` exports a checkpoint and
 * serves dist-demo/; headless Chromium (playwright-core) opens the page with
 * ?backend=wasm, picks a PNG, and the detections the page reports on
 * `window.__yolor` must match `predictImage` (what `yolor predict` runs) on
 * the same file with the same thresholds.
 *
 * Why they should agree: the page letterboxes with the library's own code
 * (imported from src/), so the graph sees the same bytes; the graph is the
 * exported, folded network (BatchNorm and implicit knowledge folded into the
 * convolutions), which changes only float32 rounding; NMS is the library's
 * `postprocess`. So differences are float noise, ~1e-6 in scores and ~1e-4 px
 * in boxes; the tolerances (1e-3 in score, 1 px in box corners) leave room for
 * a different wasm kernel path while still catching any real mismatch
 * (a one-pixel letterbox shift, a swapped channel, an unscaled box).
 *
 * The model is untrained. Straight from its initialisation its outputs do
 * not depend on the image at all (the signal fades through the randomly
 * initialised layers and the head's bias priors dominate), which would make
 * any comparison vacuous; `makeInputSensitive` calibrates its batch-norm
 * statistics on a few shapes images and scales the prediction convs up, after
 * which a +1 grey-level change of the input moves boxes by several pixels and
 * scores by ~0.05, far beyond the tolerances. A low conf and a match-by-
 * nearest comparison of the top boxes (same class, box and score within
 * tolerance) keep near-ties from making the result depend on sort order.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, type Browser } from 'playwright-core';
import { encodePng } from '../../src/data/image-io.js';
import { generateShapeImage, resolveShapesOptions, shapeTemplates } from '../../src/data/datasets/shapes.js';
import type { RgbImage } from '../../src/data/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { DEMO_DIST, serveDemo, type DemoFormat } from '../../src/export/demo/serve.js';
import { loadModel, saveModel } from '../../src/models/checkpoint.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import type { Detection } from '../../src/tasks/detect/nms.js';
import { predictImage } from '../../src/train/predict.js';
import { tmp } from '../helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const IMGSZ = 128;
const CONF = 0.005;
const IOU = 0.45;
const TOP_K = 15;
const BOX_TOL = 1; // px, original-image frame
const SCORE_TOL = 1e-3;
/**
 * Backends to check, from YOLOR_DEMO_BACKENDS (comma-separated; default wasm,
 * the one that runs everywhere). webgl and webgpu work in headless Chromium
 * through SwiftShader (software, slow); onnxruntime-web's WebGL provider
 * cannot run these graphs (no Split at opset 17), so onnx/webgl fails.
 */
const BACKENDS = (process.env['YOLOR_DEMO_BACKENDS'] ?? 'wasm').split(',').map((b) => b.trim()).filter(Boolean);
/** Lets headless Chromium offer WebGPU (on SwiftShader's software Vulkan where there is no GPU). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];

function skipReason(): string | false {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  if (!existsSync(join(DEMO_DIST, 'index.html'))) return 'dist-demo/ is not built (npm run build:demo)';
  return false;
}

/** What the page puts on window.__yolor (demo/src/main.ts YolorPageState). */
interface PageState {
  loaded: boolean;
  ready: boolean;
  runs: number;
  error: string | null;
  engine: string | null;
  backend: string | null;
  skipped: string[];
  threads: number | null;
  ms: { preprocess: number; inference: number; postprocess: number; total: number } | null;
  detections: Array<{ box: [number, number, number, number]; score: number; cls: number; name: string }>;
  image: { width: number; height: number } | null;
}

/** A 200×150 crop of a generated shapes image: non-square, scaled by 0.64 (bilinear path) and padded. */
function testImage(): RgbImage {
  const o = resolveShapesOptions({ size: 200, seed: 3 });
  const full = generateShapeImage(o, shapeTemplates(o), 'val', 1).image;
  const width = 200;
  const height = 150;
  const data = full.data.slice(0, width * height * 3); // the top 150 rows
  return { data, width, height };
}

/**
 * Turns a freshly initialised detector into one whose outputs depend on the
 * image (no training): one training-mode forward pass over 8 shapes images
 * moves each batch norm's running statistics by momentum 0.03 towards that
 * batch's statistics, from which the batch statistics are recovered exactly
 * (b = (r₁ − 0.97·r₀) / 0.03) and installed as the running statistics, so
 * every layer is normalised as after training. The prediction convs are then
 * scaled ×5 so the scores spread out from the bias priors.
 */
function makeInputSensitive(model: Detector): void {
  const o = resolveShapesOptions({ size: IMGSZ, seed: 5 });
  const templates = shapeTemplates(o);
  const pixels = new Uint8Array(8 * IMGSZ * IMGSZ * 3);
  for (let i = 0; i < 8; i++) pixels.set(generateShapeImage(o, templates, 'train', i).image.data, i * IMGSZ * IMGSZ * 3);
  const before = new Map([...model.stateDict()].map(([n, t]) => [n, t.clone()]));
  const x = tf.tidy(() => tf.div(tf.tensor4d(pixels, [8, IMGSZ, IMGSZ, 3], 'int32'), 255) as tf.Tensor4D);
  model.train();
  tf.dispose(tf.tidy(() => model.forward(x)));
  model.eval();
  const next = new Map<string, tf.Tensor>();
  for (const [name, t] of model.stateDict()) {
    const r0 = before.get(name)!;
    if (name.endsWith('.running_mean')) next.set(name, tf.tidy(() => tf.div(tf.sub(t, tf.mul(r0, 0.97)), 0.03)));
    else if (name.endsWith('.running_var')) next.set(name, tf.tidy(() => tf.maximum(tf.div(tf.sub(t, tf.mul(r0, 0.97)), 0.03), 1e-4)));
    else if (/^head\.l\d+\.pred\.weight$/.test(name)) next.set(name, tf.mul(t, 5));
    else next.set(name, t.clone());
  }
  model.loadStateDict(next);
  tf.dispose([x, ...before.values(), ...next.values()]);
}

/** Largest corner difference between two boxes. */
function boxDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

/** Every one of `want`'s first k detections has a counterpart in `have` (same class, box and score within tolerance). */
function assertMatched(want: readonly Detection[], have: readonly Detection[], k: number, what: string): { box: number; score: number } {
  let worstBox = 0;
  let worstScore = 0;
  for (const [i, d] of want.slice(0, k).entries()) {
    const candidates = have.filter((h) => h.cls === d.cls);
    let best: Detection | null = null;
    for (const h of candidates) if (!best || boxDiff(h.box, d.box) < boxDiff(best.box, d.box)) best = h;
    assert.ok(best, `${what}: detection #${i} (cls ${d.cls}, score ${d.score}) has no same-class counterpart`);
    const db = boxDiff(best.box, d.box);
    const ds = Math.abs(best.score - d.score);
    assert.ok(db <= BOX_TOL, `${what}: detection #${i} box [${d.box.map((v) => v.toFixed(2))}] vs nearest [${best.box.map((v) => v.toFixed(2))}] (Δ ${db.toFixed(3)} px)`);
    assert.ok(ds <= SCORE_TOL, `${what}: detection #${i} score ${d.score} vs ${best.score}`);
    worstBox = Math.max(worstBox, db);
    worstScore = Math.max(worstScore, ds);
  }
  return { box: worstBox, score: worstScore };
}

describe('browser demo (headless Chromium)', { skip: skipReason() }, () => {
  let browser: Browser;
  let ckpt: string;
  let imageFile: string;
  let expected: Detection[];

  before(async () => {
    await initBackend('wasm');
    const dir = tmp('demo-e2e');
    const cfg = parseModelConfig({ ...serializeModelConfig(resolveModelConfig('yolor-n')), nc: 3, names: ['circle', 'square', 'triangle'], imgsz: IMGSZ }, 'yolor-n');
    const model = new Detector(cfg, 7);
    makeInputSensitive(model);
    ckpt = join(dir, 'ckpt');
    await saveModel(ckpt, model);
    model.dispose();
    imageFile = join(dir, 'shapes.png');
    writeFileSync(imageFile, await encodePng(testImage()));
    // The reference: what `yolor predict` computes for this checkpoint and image.
    const { model: loaded } = await loadModel(ckpt);
    loaded.eval();
    expected = (await predictImage(loaded, imageFile, { imgsz: IMGSZ, conf: CONF, iou: IOU, maxDet: 300 })).detections;
    loaded.dispose();
    assert.ok(expected.length >= TOP_K, `the untrained model gives only ${expected.length} detections at conf ${CONF}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', ...(BACKENDS.includes('webgpu') ? WEBGPU_FLAGS : [])] });
  });

  after(async () => {
    await browser?.close();
  });

  /** Serves `format`, opens the page (backend forced unless null), picks the image; the page's state after one pass. */
  async function runPage(t: TestContext, format: DemoFormat, backend: string | null): Promise<PageState> {
    const server = await serveDemo({ weights: ckpt, format, port: 0, imgsz: IMGSZ });
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${server.url}?${backend ? `backend=${backend}&` : ''}conf=${CONF}&iou=${IOU}`);
      const state = 'window.__yolor';
      await page.waitForFunction(`${state} && (${state}.loaded || ${state}.error !== null)`, undefined, { timeout: 90_000 });
      const loaded = (await page.evaluate(state)) as PageState;
      assert.equal(loaded.error, null, `page error: ${loaded.error}\n${logs.join('\n')}`);
      await page.setInputFiles('#file', imageFile);
      await page.waitForFunction(`${state}.runs >= 1 || ${state}.error !== null`, undefined, { timeout: 60_000 });
      const result = (await page.evaluate(state)) as PageState;
      assert.equal(result.error, null, `page error: ${result.error}\n${logs.join('\n')}`);
      // The page shows the backend and a latency, not only the global.
      const shownBackend = await page.textContent('#backend');
      const shownLatency = await page.textContent('#latency');
      assert.match(shownBackend ?? '', new RegExp(`^${result.backend} \\(${result.engine}(, \\d+ threads?)?\\)$`));
      assert.match(shownLatency ?? '', /^latency: \d+(\.\d+)? ms \(preprocess [\d.]+, inference [\d.]+, postprocess [\d.]+\)$/);
      const canvas = await page.evaluate('[document.getElementById("canvas").width, document.getElementById("canvas").height]');
      assert.deepEqual(canvas, [200, 150]);
      const listed = await page.locator('#detections li').count();
      assert.equal(listed, Math.min(result.detections.length, 100) + (result.detections.length > 100 ? 1 : 0), 'the detections list');
      t.diagnostic(`${format}/${result.backend} (${result.engine}, ${result.threads ?? '-'} threads): ${result.ms!.total.toFixed(1)} ms total, ${result.ms!.inference.toFixed(1)} ms inference`);
      return result;
    } finally {
      await page.close();
      await server.close();
    }
  }

  function checkAgainstPredict(t: TestContext, result: PageState, backend: string): void {
    assert.equal(result.backend, backend);
    assert.ok(result.ms && result.ms.total > 0 && result.ms.inference > 0, 'latency is reported');
    assert.deepEqual(result.image, { width: 200, height: 150 });
    const got: Detection[] = result.detections.map((d) => ({ box: d.box, score: d.score, cls: d.cls }));
    for (const d of result.detections) assert.equal(d.name, ['circle', 'square', 'triangle'][d.cls]);
    // Counts may differ only by candidates whose score straddles conf within float noise.
    assert.ok(Math.abs(got.length - expected.length) <= 3, `page: ${got.length} detections, predict: ${expected.length}`);
    const a = assertMatched(got, expected, TOP_K, 'page → predict');
    const b = assertMatched(expected, got, TOP_K, 'predict → page');
    t.diagnostic(`top-${TOP_K}: max |Δbox| ${Math.max(a.box, b.box).toExponential(2)} px, max |Δscore| ${Math.max(a.score, b.score).toExponential(2)}; best score ${expected[0]!.score.toFixed(4)}`);
  }

  test('without ?backend= the page picks one itself and says why it passed over better ones', async (t) => {
    const result = await runPage(t, 'tfjs', null);
    assert.ok(['webgpu', 'webgl', 'wasm'].includes(result.backend ?? ''), `backend ${result.backend}`);
    const order = ['webgpu', 'webgl', 'wasm'];
    const passedOver = order.slice(0, order.indexOf(result.backend!));
    assert.deepEqual(result.skipped.map((s) => s.split(':')[0]), passedOver, result.skipped.join('\n'));
    t.diagnostic(`auto → ${result.backend}${result.skipped.length ? ` (${result.skipped.join('; ')})` : ''}`);
  });

  for (const format of ['tfjs', 'onnx'] as const) {
    for (const backend of BACKENDS) {
      const what = format === 'tfjs' ? 'TF.js graph model' : 'ONNX (onnxruntime-web)';
      const skip = format === 'onnx' && backend === 'webgl' ? "onnxruntime-web's WebGL provider lacks Split (opset 17)" : false;
      test(`${what} on ${backend}: detections match yolor predict`, { skip }, async (t) => {
        const result = await runPage(t, format, backend);
        assert.equal(result.engine, format === 'tfjs' ? 'tfjs' : 'onnxruntime-web');
        checkAgainstPredict(t, result, backend);
      });
    }
  }
});
