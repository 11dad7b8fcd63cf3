/**
 * Page wiring: load ./model/config.json, the sample list and the model (on
 * the best or the `?backend=`-forced backend), open on the first sample image
 * already detected, then detect on any sample clicked, image picked, dropped
 * or pasted, or on camera frames: boxes, a multi-task model's segmentation
 * overlay and image labels, backend, latency and a detections list.
 *
 * The last result is exposed as `window.__yolor` (see YolorPageState) and the
 * class map as `window.__yolorClassMap`, so that tests can read them.
 * `?conf=`, `?iou=` and `?max-det=` set the thresholds.
 */
import { requestedBackend } from './backend.js';
import { type DemoConfig, loadConfig } from './config.js';
import { type DemoDetection, type DetectOptions, type DetectResult, detect, type StageTimes } from './detect.js';
import { drawScene } from './draw.js';
import { acceptImageInput } from './input.js';
import { LABEL_THRESHOLD, showResult } from './panel.js';
import { readRgb } from './preprocess.js';
import { createRuntime, type DetectorRuntime } from './runtime.js';
import { loadSamples, renderStrip, type SampleList } from './samples.js';
import type { ImageLabel, SegmentClass } from './tasks.js';

/** What the page exposes on `window.__yolor`. */
export interface YolorPageState {
  /** The model is loaded and warmed up on `backend`. */
  loaded: boolean;
  /** A detection pass has finished for the current image (false while one runs). */
  ready: boolean;
  /** Number of finished detection passes. */
  runs: number;
  error: string | null;
  format: DemoConfig['format'] | null;
  engine: string | null;
  backend: string | null;
  /** CPU threads of a wasm backend (null otherwise). */
  threads: number | null;
  /** Backends passed over in automatic choice, with reasons. */
  skipped: string[];
  /** Latency of the last pass in milliseconds. */
  ms: StageTimes | null;
  detections: DemoDetection[];
  /** Size of the last image or frame. */
  image: { width: number; height: number } | null;
  /** What the last image was: `sample:<name>`, `file:<name>`, `drop:<name>`, `paste:<name>` or `camera`. */
  source: string | null;
  /** The sample list once loaded: how many, from where, or why none. */
  samples: { count: number; source: string | null; note: string | null } | null;
  /** Multi-task: every label's probability, most probable first (null without a classify head). */
  labels: ImageLabel[] | null;
  /** Multi-task: the classes in the class map and their share of the image (null without a segment head). */
  segment: SegmentClass[] | null;
  /** Canvas pixels per image pixel. */
  scale: number;
}

declare global {
  interface Window {
    __yolor: YolorPageState;
    /** Class per pixel of the last image (0 background, c + 1 class c), or null. */
    __yolorClassMap: Uint8Array | null;
  }
}

const state: YolorPageState = {
  loaded: false,
  ready: false,
  runs: 0,
  error: null,
  format: null,
  engine: null,
  backend: null,
  threads: null,
  skipped: [],
  ms: null,
  detections: [],
  image: null,
  source: null,
  samples: null,
  labels: null,
  segment: null,
  scale: 1,
};
window.__yolor = state;
window.__yolorClassMap = null;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the page`);
  return e as T;
}

const ui = {
  status: el<HTMLSpanElement>('status'),
  backend: el<HTMLElement>('backend'),
  model: el<HTMLElement>('model'),
  file: el<HTMLInputElement>('file'),
  camera: el<HTMLButtonElement>('camera'),
  conf: el<HTMLInputElement>('conf'),
  iou: el<HTMLInputElement>('iou'),
  overlay: el<HTMLInputElement>('overlay'),
  overlayLabel: el<HTMLLabelElement>('overlay-label'),
  stage: el<HTMLDivElement>('stage'),
  canvas: el<HTMLCanvasElement>('canvas'),
  strip: el<HTMLDivElement>('samples'),
  latency: el<HTMLDivElement>('latency'),
  labelsBox: el<HTMLElement>('labels-box'),
  labels: el<HTMLUListElement>('labels'),
  segmentBox: el<HTMLElement>('segment-box'),
  segment: el<HTMLUListElement>('segment'),
  list: el<HTMLOListElement>('detections'),
  video: el<HTMLVideoElement>('video'),
};

function setStatus(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function fail(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  state.error = msg;
  setStatus(msg, true);
  console.error(err);
}

function numberParam(params: URLSearchParams, name: string, fallback: number): number {
  const v = params.get(name);
  const n = v === null ? Number.NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

const query = new URLSearchParams(location.search);
ui.conf.value = String(numberParam(query, 'conf', 0.25));
ui.iou.value = String(numberParam(query, 'iou', 0.45));
const maxDet = Math.max(1, Math.floor(numberParam(query, 'max-det', 300)));

function options(): DetectOptions {
  const clamp = (v: number, d: number): number => (Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : d);
  return { conf: clamp(ui.conf.valueAsNumber, 0.25), iou: clamp(ui.iou.valueAsNumber, 0.45), maxDet };
}

let runtime: DetectorRuntime | null = null;
let config: DemoConfig | null = null;
let samples: SampleList | null = null;
let markSample: (active: number) => void = () => undefined;

interface Shown {
  source: CanvasImageSource;
  width: number;
  height: number;
  label: string;
}

/** The frame or image most recently detected, redrawn or re-run when the thresholds or the overlay change. */
let current: (Shown & { result: DetectResult }) | null = null;
let busy = false;
/** The latest image asked for while a pass was running (older ones are dropped). */
let queued: Shown | null = null;

function redraw(): void {
  if (!current) return;
  const { source, width, height, result } = current;
  state.scale = drawScene(ui.canvas, {
    source,
    width,
    height,
    detections: result.detections,
    classMap: result.classMap,
    overlay: ui.overlay.checked,
  });
}

async function runOn(shown: Shown): Promise<void> {
  if (!runtime || !config) return;
  if (busy) {
    queued = shown;
    return;
  }
  busy = true;
  state.ready = false;
  try {
    const { source, width, height, label } = shown;
    const img = readRgb(source, width, height);
    const result = await detect(runtime, config, img, options());
    current = { ...shown, result };
    redraw();
    showResult(ui, result, config.nc);
    window.__yolorClassMap = result.classMap;
    Object.assign(state, {
      detections: result.detections,
      labels: result.labels,
      segment: result.segment,
      ms: result.ms,
      image: { width, height },
      source: label,
      error: null,
      runs: state.runs + 1,
    });
    if (label !== 'camera') {
      const present = result.labels?.filter((l) => l.score >= LABEL_THRESHOLD).map((l) => l.name) ?? [];
      const labels = present.length > 4 ? `${present.slice(0, 4).join(', ')} +${present.length - 4}` : present.join(', ');
      setStatus(
        `${result.detections.length} detection${result.detections.length === 1 ? '' : 's'}${labels ? `; labels: ${labels}` : ''} (${label.replace(':', ' ')})`,
      );
    }
    state.ready = true;
  } catch (err) {
    fail(err);
  } finally {
    busy = false;
  }
  const next = queued;
  queued = null;
  if (next) await runOn(next);
}

/** Decodes an image file or blob as the library's decoder (sharp) does: EXIF orientation applied, colours unpremultiplied. */
function decode(blob: Blob): Promise<ImageBitmap> {
  return createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
}

async function runOnBlob(blob: Blob, label: string): Promise<void> {
  stopCamera();
  markSample(-1);
  setStatus(`detecting in ${label.replace(/^\w+:/, '')}…`);
  const bitmap = await decode(blob);
  await runOn({ source: bitmap, width: bitmap.width, height: bitmap.height, label });
}

async function runSample(index: number): Promise<void> {
  const s = samples?.images[index];
  if (!s) return;
  stopCamera();
  markSample(index);
  const res = await fetch(s.url);
  if (!res.ok) throw new Error(`${s.url}: HTTP ${res.status}`);
  const bitmap = await decode(await res.blob());
  if (!runtime) {
    // The model is still loading: show the picture meanwhile.
    state.scale = drawScene(ui.canvas, { source: bitmap, width: bitmap.width, height: bitmap.height, detections: [], classMap: null });
    return;
  }
  await runOn({ source: bitmap, width: bitmap.width, height: bitmap.height, label: `sample:${s.name}` });
}

async function onFile(): Promise<void> {
  const file = ui.file.files?.[0];
  if (!file) return;
  await runOnBlob(file, `file:${file.name}`);
}

let stream: MediaStream | null = null;

function stopCamera(): void {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  ui.camera.textContent = 'use camera';
}

async function toggleCamera(): Promise<void> {
  if (stream) return stopCamera();
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera API here (it needs https or localhost)');
  stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  markSample(-1);
  ui.camera.textContent = 'stop camera';
  ui.video.srcObject = stream;
  await ui.video.play();
  setStatus('camera');
  const loop = async (): Promise<void> => {
    if (!stream) return;
    const { videoWidth: w, videoHeight: h } = ui.video;
    if (w > 0 && h > 0 && !busy) await runOn({ source: ui.video, width: w, height: h, label: 'camera' });
    requestAnimationFrame(() => void loop());
  };
  void loop();
}

async function start(): Promise<void> {
  const forced = requestedBackend();
  config = await loadConfig();
  state.format = config.format;
  const tasks = [config.labels ? 'labels' : '', config.segment ? 'segmentation' : ''].filter(Boolean);
  ui.model.textContent = `${config.model ?? 'model'} (${config.format}, ${config.imgsz} px, ${config.nc} classes${tasks.length ? ` + ${tasks.join(' + ')}` : ''})`;
  ui.overlayLabel.hidden = !config.segment;
  setStatus(forced ? `starting ${forced}…` : 'choosing a backend…');
  // The samples load while the model does; the first one is shown as soon as it is there.
  const samplesReady = loadSamples().then(async (list) => {
    samples = list;
    state.samples = { count: list.images.length, source: list.source, note: list.note };
    markSample = renderStrip(ui.strip, list, (i) => void runSample(i).catch(fail));
    if (list.images.length && !runtime) await runSample(0).catch(fail);
  });
  runtime = await createRuntime(config, forced);
  state.engine = runtime.engine;
  state.backend = runtime.backend;
  state.skipped = [...runtime.skipped];
  state.threads = runtime.threads;
  const threads = runtime.threads ? `, ${runtime.threads} thread${runtime.threads === 1 ? '' : 's'}` : '';
  ui.backend.textContent = `${runtime.backend} (${runtime.engine}${threads})`;
  ui.backend.title = runtime.skipped.length ? `passed over: ${runtime.skipped.join('; ')}` : forced ? 'forced with ?backend=' : 'best available';
  state.loaded = true;
  ui.file.disabled = false;
  ui.camera.disabled = false;
  await samplesReady;
  // Unless the user already chose an image, open on the first sample, detected.
  if (samples?.images.length && state.runs === 0 && !busy) await runSample(0);
  else if (!samples?.images.length) setStatus(`ready: ${samples?.note ?? 'no sample images'}; pick, drop or paste an image, or use the camera`);
}

ui.file.addEventListener('change', () => void onFile().catch(fail));
ui.camera.addEventListener(
  'click',
  () =>
    void toggleCamera().catch((err) => {
      stopCamera();
      fail(err);
    }),
);
acceptImageInput(document, ui.stage, {
  onImage: (file, origin) => {
    if (!runtime) return setStatus('the model is still loading; try again in a moment');
    void runOnBlob(file, `${origin}:${file.name || 'image'}`).catch(fail);
  },
  onReject: (msg) => setStatus(msg, true),
});
const rerun = (): void => {
  if (current && !stream) void runOn(current);
};
ui.conf.addEventListener('change', rerun);
ui.iou.addEventListener('change', rerun);
ui.overlay.addEventListener('change', redraw);

start().catch(fail);
