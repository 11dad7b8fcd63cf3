/**
 * End-to-end check of the browser demo: `serveDemo` exports a checkpoint and
 * serves dist-demo/; headless Chromium (playwright-core) opens the page with
 * ?backend=wasm, picks a PNG, and the detections the page reports on
 * `window.__yolor` must match `predictImage` (what `yolor predict` runs) on
 * the same file with the same thresholds.
 *
 * A multi-task checkpoint (detect, classify, segment) that records a small
 * generated validation set: the first view, without any user action, is the
 * first validation image with boxes drawn (checked in `window.__yolor` and in
 * the canvas pixels along a box edge), its labels and class map equal
 * `predictTasks` (what `yolor predict` writes to tasks.json and _seg.png:
 * labels within float noise, class maps ≥ 99.9 % equal), the overlay blends
 * the class colours over the image, and a dropped and a pasted image are
 * detected too. The first view is saved as a screenshot (to
 * $YOLOR_DEMO_SCREENSHOT, else the test's temporary folder).
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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureShapesDataset, generateShapeImage, resolveShapesOptions, shapeTemplates } from '../../src/data/datasets/shapes.js';
import { decodeImage, encodePng } from '../../src/data/image-io.js';
import type { RgbImage } from '../../src/data/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { DEMO_DIST, type DemoFormat, serveDemo } from '../../src/export/demo/serve.js';
import { loadModel, saveModel } from '../../src/models/checkpoint.js';
import { parseModelConfig, serializeModelConfig } from '../../src/models/config.js';
import { Detector } from '../../src/models/detector.js';
import { resolveModelConfig } from '../../src/models/zoo.js';
import type { PredictedLabel } from '../../src/tasks/classify/index.js';
import type { Detection } from '../../src/tasks/detect/nms.js';
import { predictImage } from '../../src/train/predict.js';
import { predictTasks } from '../../src/train/predict-tasks.js';
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
const BACKENDS = (process.env.YOLOR_DEMO_BACKENDS ?? 'wasm')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);
/** Lets headless Chromium offer WebGPU (on SwiftShader's software Vulkan where there is no GPU). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];

/** Headless Chromium with the issue's flags (the GPU left on when a GPU backend is to be checked). */
function launch(): Promise<Browser> {
  const gpu = BACKENDS.some((b) => b === 'webgpu' || b === 'webgl');
  const args = [...CHROMIUM_ARGS.filter((a) => !(gpu && a === '--disable-gpu')), ...(BACKENDS.includes('webgpu') ? WEBGPU_FLAGS : [])];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

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
  source: string | null;
  samples: { count: number; source: string | null; note: string | null } | null;
  labels: Array<{ index: number; name: string; score: number }> | null;
  segment: Array<{ index: number; name: string; share: number }> | null;
  scale: number;
}

/** The browser flags of the issue's checks (no network, no background services). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

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
 * every layer is normalised as after training (the task heads' too). The
 * prediction convs (and the classify and segment heads' last convs) are then
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
  tf.tidy(() => {
    model.forwardTasks(x);
  });
  model.eval();
  const next = new Map<string, tf.Tensor>();
  for (const [name, t] of model.stateDict()) {
    const r0 = before.get(name)!;
    if (name.endsWith('.running_mean'))
      next.set(
        name,
        tf.tidy(() => tf.div(tf.sub(t, tf.mul(r0, 0.97)), 0.03)),
      );
    else if (name.endsWith('.running_var'))
      next.set(
        name,
        tf.tidy(() => tf.maximum(tf.div(tf.sub(t, tf.mul(r0, 0.97)), 0.03), 1e-4)),
      );
    else if (/^(head\.l\d+\.pred|classify_head\.fc|segment_head\.pred)\.weight$/.test(name)) next.set(name, tf.mul(t, 5));
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
    assert.ok(
      db <= BOX_TOL,
      `${what}: detection #${i} box [${d.box.map((v) => v.toFixed(2))}] vs nearest [${best.box.map((v) => v.toFixed(2))}] (Δ ${db.toFixed(3)} px)`,
    );
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
    const cfg = parseModelConfig(
      { ...serializeModelConfig(resolveModelConfig('yolor-n')), nc: 3, names: ['circle', 'square', 'triangle'], imgsz: IMGSZ },
      'yolor-n',
    );
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
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  /** Serves `format`, opens the page (backend forced unless null), picks the image; the page's state after one pass. */
  async function runPage(t: TestContext, format: DemoFormat, backend: string | null): Promise<PageState> {
    const server = await serveDemo({ weights: ckpt, format, port: 0, imgsz: IMGSZ, samples: 'none' });
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
      // Without samples the page says so and waits for an image (no error, no detection pass).
      await page.waitForFunction(
        `${state}.samples !== null && /pick, drop or paste/.test(document.getElementById('status').textContent)`,
        undefined,
        { timeout: 10_000 },
      );
      assert.match(
        (await page.textContent('#status')) ?? '',
        /^ready: no sample images \(--samples none\); pick, drop or paste an image, or use the camera$/,
      );
      assert.equal(((await page.evaluate(state)) as PageState).runs, 0);
      assert.equal(await page.isEnabled('#file'), true);
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
      assert.deepEqual(canvas, [200 * result.scale, 150 * result.scale]);
      assert.equal(result.source, 'file:shapes.png');
      // A detection-only model: no labels, no segmentation, no overlay switch; no samples: no strip.
      for (const id of ['#labels-box', '#segment-box', '#overlay', '#samples']) assert.equal(await page.isVisible(id), false, `${id} is shown`);
      assert.equal(result.labels, null);
      assert.equal(result.segment, null);
      const listed = await page.locator('#detections li').count();
      assert.equal(listed, Math.min(result.detections.length, 100) + (result.detections.length > 100 ? 1 : 0), 'the detections list');
      t.diagnostic(
        `${format}/${result.backend} (${result.engine}, ${result.threads ?? '-'} threads): ${result.ms!.total.toFixed(1)} ms total, ${result.ms!.inference.toFixed(1)} ms inference`,
      );
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
    t.diagnostic(
      `top-${TOP_K}: max |Δbox| ${Math.max(a.box, b.box).toExponential(2)} px, max |Δscore| ${Math.max(a.score, b.score).toExponential(2)}; best score ${expected[0]!.score.toFixed(4)}`,
    );
  }

  test('without ?backend= the page picks one itself and says why it passed over better ones', async (t) => {
    const result = await runPage(t, 'tfjs', null);
    assert.ok(['webgpu', 'webgl', 'wasm'].includes(result.backend ?? ''), `backend ${result.backend}`);
    const order = ['webgpu', 'webgl', 'wasm'];
    const passedOver = order.slice(0, order.indexOf(result.backend!));
    assert.deepEqual(
      result.skipped.map((s) => s.split(':')[0]),
      passedOver,
      result.skipped.join('\n'),
    );
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

/** Opacity of the page's segmentation overlay (demo/src/draw.ts OVERLAY_ALPHA). */
const OVERLAY_ALPHA = 0.45;
const MT_NAMES = ['circle', 'square', 'triangle'];
const MT_ATTRIBUTES = ['red', 'green'];
/** Confidence threshold of the multi-task page (its untrained-but-calibrated model scores low). */
const MT_CONF = 0.05;

/** RGBA bytes of the whole page canvas (sent as base64: a plain array of a million numbers takes tens of seconds). */
async function canvasRgba(page: Page): Promise<{ width: number; height: number; data: Uint8Array }> {
  // Page code as a string: the tests compile without the DOM library.
  const r = (await page.evaluate(`(() => {
    const c = document.getElementById('canvas');
    const bytes = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, b64: btoa(bin) };
  })()`)) as { width: number; height: number; b64: string };
  return { width: r.width, height: r.height, data: new Uint8Array(Buffer.from(r.b64, 'base64')) };
}

/** 'rgb(r, g, b)' → [r, g, b]. */
function parseRgb(css: string): [number, number, number] {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
  assert.ok(m, `not an rgb colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Share of the pixels of one canvas row segment within `tol` of `rgb`. */
function rowShare(img: { width: number; data: Uint8Array }, y: number, x0: number, x1: number, rgb: readonly number[], tol = 8): number {
  let hit = 0;
  for (let x = x0; x < x1; x++) {
    const o = (y * img.width + x) * 4;
    if (rgb.every((v, k) => Math.abs(img.data[o + k]! - v) <= tol)) hit++;
  }
  return hit / Math.max(1, x1 - x0);
}

describe('browser demo with a multi-task checkpoint and sample images (headless Chromium)', { skip: skipReason() }, () => {
  let browser: Browser;
  let ckpt: string;
  let samples: string[];
  let dropFile: string;
  let model: Detector;

  before(async () => {
    await initBackend('wasm');
    const dir = tmp('demo-e2e-mt');
    // The "validation data" the checkpoint records: a small generated dataset folder.
    const data = join(dir, 'data');
    const ds = await ensureShapesDataset(data, {
      train: 1,
      val: 3,
      test: 0,
      size: 160,
      seed: 3,
      minObjects: 2,
      maxObjects: 4,
      minSize: 30,
      maxSize: 70,
      progress: false,
    });
    samples = ds.splits.val!.map((r) => r.file);
    const cfg = parseModelConfig(
      {
        ...serializeModelConfig(resolveModelConfig('yolor-n')),
        nc: 3,
        names: MT_NAMES,
        imgsz: IMGSZ,
        tasks: ['detect', 'classify', 'segment'],
        num_labels: MT_NAMES.length + MT_ATTRIBUTES.length,
      },
      'yolor-n',
    );
    const m = new Detector(cfg, 11);
    makeInputSensitive(m);
    ckpt = join(dir, 'ckpt');
    await saveModel(ckpt, m, { names: MT_NAMES, attributes: MT_ATTRIBUTES, imgsz: IMGSZ, data: { source: data, split: 'val' } });
    m.dispose();
    model = (await loadModel(ckpt)).model;
    model.eval();
    dropFile = join(dir, 'dropped.png');
    writeFileSync(dropFile, await encodePng(testImage()));
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    model?.dispose();
  });

  /** What `yolor predict` gives for `file`: detections, every label's probability, the class map. */
  async function reference(file: string): Promise<{ detections: Detection[]; labels: Map<number, number>; semantic: Uint8Array }> {
    const p = await predictImage(model, file, { imgsz: IMGSZ, conf: MT_CONF, iou: IOU, maxDet: 300 });
    const t = predictTasks(model, await decodeImage(file), { imgsz: IMGSZ, labelNames: [...MT_NAMES, ...MT_ATTRIBUTES], labelThreshold: 0 });
    return {
      detections: p.detections,
      labels: new Map((t.classify!.value as PredictedLabel[]).map((l) => [l.index, l.score])),
      semantic: t.segment!.value as Uint8Array,
    };
  }

  /** The page's labels and class map equal predict's; its detections match predict's best ones. */
  async function checkTasks(t: TestContext, page: Page, state: PageState, file: string, what: string): Promise<void> {
    const ref = await reference(file);
    const got = state.detections.map((d) => ({ box: d.box, score: d.score, cls: d.cls }));
    assert.ok(got.length > 0 && ref.detections.length > 0, `${what}: no detections (page ${got.length}, predict ${ref.detections.length})`);
    const k = Math.min(5, ref.detections.length, got.length);
    assertMatched(ref.detections, got, k, `${what}: predict → page`);
    assert.equal(state.labels!.length, MT_NAMES.length + MT_ATTRIBUTES.length);
    let dl = 0;
    for (const l of state.labels!) {
      assert.equal(l.name, [...MT_NAMES, ...MT_ATTRIBUTES][l.index]);
      dl = Math.max(dl, Math.abs(l.score - ref.labels.get(l.index)!));
    }
    assert.ok(dl <= 1e-4, `${what}: label probabilities differ by ${dl}`);
    const classMap = (await page.evaluate('Array.from(window.__yolorClassMap ?? [])')) as number[];
    assert.equal(classMap.length, ref.semantic.length);
    let same = 0;
    for (let i = 0; i < classMap.length; i++) if (classMap[i] === ref.semantic[i]) same++;
    const agree = same / classMap.length;
    assert.ok(agree >= 0.999, `${what}: class maps agree on ${(agree * 100).toFixed(3)} % of pixels`);
    assert.ok(new Set(classMap).size >= 2, `${what}: the class map is a single class (the comparison would be vacuous)`);
    t.diagnostic(
      `${what}: ${got.length} detections, labels max |Δ| ${dl.toExponential(2)}, class maps agree on ${(agree * 100).toFixed(3)} % (${new Set(classMap).size} classes)`,
    );
  }

  /** Opens the page and waits for its first detection pass, which nothing but the page itself starts. */
  async function firstView(server: { url: string }, logs: string[]): Promise<{ page: Page; state: PageState; ms: number }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const t0 = Date.now();
    await page.goto(`${server.url}?backend=wasm&conf=${MT_CONF}&iou=${IOU}`);
    await page.waitForFunction('window.__yolor && (window.__yolor.runs >= 1 && window.__yolor.ready || window.__yolor.error !== null)', undefined, {
      timeout: 90_000,
    });
    const state = (await page.evaluate('window.__yolor')) as PageState;
    assert.equal(state.error, null, `page error: ${state.error}\n${logs.join('\n')}`);
    return { page, state, ms: Date.now() - t0 };
  }

  test('TF.js: the first view is a validation image with boxes, labels and an overlay, as yolor predict; drop, paste and thumbnails detect too', async (t) => {
    const server = await serveDemo({ weights: ckpt, format: 'tfjs', port: 0 });
    const logs: string[] = [];
    const { page, state, ms } = await firstView(server, logs);
    try {
      // What the page opened on, by itself: the first sample of the checkpoint's validation split.
      const name = samples[0]!.split('/').pop()!;
      assert.equal(state.source, `sample:${name}`);
      assert.deepEqual(state.samples, { count: 3, source: 'shapes, val split', note: null });
      assert.deepEqual(state.image, { width: 160, height: 160 });
      assert.equal(await page.locator('#samples .thumb').count(), 3);
      assert.equal(await page.locator('#samples .thumb.active').count(), 1);
      await checkTasks(t, page, state, samples[0]!, 'first view');
      // The boxes are on the canvas: the best box's bottom edge is drawn in its class colour (the list item's colour).
      const img = await canvasRgba(page);
      const s = state.scale;
      assert.deepEqual([img.width, img.height], [160 * s, 160 * s]);
      const best = state.detections[0]!;
      const color = parseRgb((await page.evaluate('getComputedStyle(document.querySelector("#detections li")).color')) as string);
      const [x1, , x2, y2] = best.box.map((v) => Math.round(v * s));
      assert.ok(x2! - x1! >= 8, `box too narrow to check: ${best.box}`);
      const row = Math.min(y2!, img.height) - 1;
      const share = rowShare(img, row, x1! + 2, x2! - 2, color);
      assert.ok(share >= 0.9, `only ${(share * 100).toFixed(0)} % of the best box's bottom edge (row ${row}) is its colour ${color}`);
      // The same row a little inside the box is mostly not that colour (the edge is a line, not a filled area).
      assert.ok(rowShare(img, Math.max(0, row - 6), x1! + 2, x2! - 2, color) < 0.5, 'the box is filled, not outlined');
      // Labels and the segmentation legend are listed beside the boxes.
      assert.ok((await page.locator('#labels li').count()) >= 1);
      assert.equal(await page.isVisible('#labels-box'), true);
      assert.equal(await page.locator('#segment li').count(), state.segment!.length);
      const shot = resolve(process.env.YOLOR_DEMO_SCREENSHOT ?? join(tmp('demo-shot'), 'demo.png'));
      mkdirSync(dirname(shot), { recursive: true });
      await page.screenshot({ path: shot });
      t.diagnostic(`first view after ${ms} ms (${state.ms!.total.toFixed(0)} ms detection); screenshot: ${shot}`);

      // The overlay, on the same image without boxes (conf 1): turned off, background pixels stay as they were and
      // segmented pixels lose exactly the class colour blended at OVERLAY_ALPHA.
      const classMap = (await page.evaluate('Array.from(window.__yolorClassMap)')) as number[];
      const legend = new Map<number, [number, number, number]>();
      const items = (await page.evaluate('Array.from(document.querySelectorAll("#segment li"), (li) => getComputedStyle(li).color)')) as string[];
      state.segment!.forEach((c, i) => {
        legend.set(c.index, parseRgb(items[i]!));
      });
      const setConf = async (v: number, runs: number): Promise<void> => {
        await page.evaluate(`(() => { const c = document.getElementById('conf'); c.value = '${v}'; c.dispatchEvent(new Event('change')); })()`);
        await page.waitForFunction(`window.__yolor.runs > ${runs} && window.__yolor.ready`, undefined, { timeout: 30_000 });
      };
      await setConf(1, state.runs);
      const bare = (await page.evaluate('window.__yolor')) as PageState;
      assert.equal(bare.detections.length, 0);
      const withOverlay = await canvasRgba(page);
      await page.uncheck('#overlay');
      const plain = await canvasRgba(page);
      let bgSame = 0,
        bg = 0,
        blended = 0,
        fg = 0;
      for (let y = 0; y < 160; y++) {
        for (let x = 0; x < 160; x++) {
          const c = classMap[y * 160 + x]!;
          const o = ((y * s + (s >> 1)) * img.width + x * s + (s >> 1)) * 4;
          const on = withOverlay.data.slice(o, o + 3);
          const off = plain.data.slice(o, o + 3);
          if (c === 0) {
            bg++;
            if (on.every((v, k) => v === off[k])) bgSame++;
          } else {
            fg++;
            const col = legend.get(c)!;
            if (on.every((v, k) => Math.abs(v - (off[k]! * (1 - OVERLAY_ALPHA) + col[k]! * OVERLAY_ALPHA)) <= 3)) blended++;
          }
        }
      }
      assert.ok(fg > 0 && bg > 0, `segmented ${fg}, background ${bg} pixels`);
      assert.equal(bgSame, bg, 'the overlay changed background pixels');
      assert.equal(blended, fg, `only ${((blended / fg) * 100).toFixed(1)} % of segmented pixels show the blended class colour`);
      await page.check('#overlay');
      await setConf(MT_CONF, bare.runs);

      // Drag and drop: a DataTransfer with a PNG dropped on the canvas.
      const runs = ((await page.evaluate('window.__yolor')) as PageState).runs;
      const b64 = readFileSync(dropFile).toString('base64');
      await page.evaluate(`(() => {
        const file = new File([Uint8Array.from(atob('${b64}'), (ch) => ch.charCodeAt(0))], 'dropped.png', { type: 'image/png' });
        const dt = new DataTransfer();
        dt.items.add(file);
        const target = document.getElementById('canvas');
        target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
        if (!document.getElementById('stage').classList.contains('dragging')) throw new Error('the drop zone is not highlighted while dragging');
        target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
        target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
      })()`);
      await page.waitForFunction(`window.__yolor.runs > ${runs} && window.__yolor.ready || window.__yolor.error !== null`, undefined, {
        timeout: 30_000,
      });
      const dropped = (await page.evaluate('window.__yolor')) as PageState;
      assert.equal(dropped.error, null, String(dropped.error));
      assert.equal(dropped.source, 'drop:dropped.png');
      assert.deepEqual(dropped.image, { width: 200, height: 150 });
      assert.equal(await page.evaluate('document.getElementById("stage").classList.contains("dragging")'), false);
      assert.equal(await page.locator('#samples .thumb.active').count(), 0);
      await checkTasks(t, page, dropped, dropFile, 'dropped');

      // Paste: a clipboard event carrying an image file.
      await page.evaluate(`(() => {
        const file = new File([Uint8Array.from(atob('${readFileSync(samples[1]!).toString('base64')}'), (ch) => ch.charCodeAt(0))], 'pasted.png', { type: 'image/png' });
        const dt = new DataTransfer();
        dt.items.add(file);
        document.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
      })()`);
      await page.waitForFunction(`window.__yolor.runs > ${dropped.runs} && window.__yolor.ready || window.__yolor.error !== null`, undefined, {
        timeout: 30_000,
      });
      const pasted = (await page.evaluate('window.__yolor')) as PageState;
      assert.equal(pasted.error, null, String(pasted.error));
      assert.equal(pasted.source, 'paste:pasted.png');
      await checkTasks(t, page, pasted, samples[1]!, 'pasted');

      // A thumbnail.
      await page.locator('#samples .thumb').nth(2).click();
      await page.waitForFunction(`window.__yolor.runs > ${pasted.runs} && window.__yolor.ready`, undefined, { timeout: 30_000 });
      assert.equal(((await page.evaluate('window.__yolor')) as PageState).source, `sample:${samples[2]!.split('/').pop()}`);
      assert.equal(await page.locator('#samples .thumb.active').count(), 1);
    } catch (err) {
      t.diagnostic(logs.join('\n'));
      throw err;
    } finally {
      await page.close();
      await server.close();
    }
  });

  test('ONNX (onnxruntime-web): the first view gives the same labels and class map as yolor predict', async (t) => {
    const server = await serveDemo({ weights: ckpt, format: 'onnx', port: 0 });
    const logs: string[] = [];
    const { page, state } = await firstView(server, logs);
    try {
      assert.equal(state.engine, 'onnxruntime-web');
      assert.equal(state.source, `sample:${samples[0]!.split('/').pop()}`);
      await checkTasks(t, page, state, samples[0]!, 'onnx first view');
    } finally {
      await page.close();
      await server.close();
    }
  });
});
