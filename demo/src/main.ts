/**
 * Page wiring: load ./model/config.json and the model on the best (or the
 * `?backend=`-forced) backend, then detect on a picked image or on camera
 * frames, drawing boxes and showing backend, latency and a detections list.
 *
 * The last result is exposed as `window.__yolor` (see YolorPageState) so that
 * tests can read it. `?conf=`, `?iou=` and `?max-det=` set the thresholds.
 */
import { requestedBackend } from './backend.js';
import { loadConfig, type DemoConfig } from './config.js';
import { detect, type DemoDetection, type DetectOptions, type StageTimes } from './detect.js';
import { classColor, drawDetections } from './draw.js';
import { readRgb } from './preprocess.js';
import { createRuntime, type DetectorRuntime } from './runtime.js';

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
}

declare global {
  interface Window {
    __yolor: YolorPageState;
  }
}

const state: YolorPageState = {
  loaded: false, ready: false, runs: 0, error: null, format: null, engine: null, backend: null, threads: null, skipped: [], ms: null, detections: [], image: null,
};
window.__yolor = state;

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
  canvas: el<HTMLCanvasElement>('canvas'),
  latency: el<HTMLDivElement>('latency'),
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

function showResult(dets: readonly DemoDetection[], ms: StageTimes): void {
  const f = (v: number): string => v.toFixed(1);
  ui.latency.textContent = `latency: ${f(ms.total)} ms (preprocess ${f(ms.preprocess)}, inference ${f(ms.inference)}, postprocess ${f(ms.postprocess)})`;
  ui.list.replaceChildren(...dets.slice(0, 100).map((d) => {
    const li = document.createElement('li');
    li.style.color = classColor(d.cls);
    li.textContent = `${d.name} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(0)).join(', ')}]`;
    return li;
  }));
  if (dets.length > 100) ui.list.append(Object.assign(document.createElement('li'), { textContent: `… ${dets.length - 100} more` }));
}

let runtime: DetectorRuntime | null = null;
let config: DemoConfig | null = null;

/** The frame or image most recently shown, re-run when the thresholds change. */
let current: { source: CanvasImageSource; width: number; height: number } | null = null;
let busy = false;

async function runOn(source: CanvasImageSource, width: number, height: number): Promise<void> {
  if (!runtime || !config) return;
  current = { source, width, height };
  busy = true;
  state.ready = false;
  try {
    const img = readRgb(source, width, height);
    const { detections, ms } = await detect(runtime, config, img, options());
    drawDetections(ui.canvas, source, width, height, detections);
    showResult(detections, ms);
    Object.assign(state, { detections, ms, image: { width, height }, error: null, runs: state.runs + 1 });
    setStatus(`${detections.length} detection${detections.length === 1 ? '' : 's'}`);
    state.ready = true;
  } catch (err) {
    fail(err);
  } finally {
    busy = false;
  }
}

async function onFile(): Promise<void> {
  const file = ui.file.files?.[0];
  if (!file) return;
  stopCamera();
  setStatus(`detecting in ${file.name}…`);
  // Orientation from EXIF and conversion to sRGB, as the library's decoder (sharp) does.
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  await runOn(bitmap, bitmap.width, bitmap.height);
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
  ui.camera.textContent = 'stop camera';
  ui.video.srcObject = stream;
  await ui.video.play();
  const loop = async (): Promise<void> => {
    if (!stream) return;
    const { videoWidth: w, videoHeight: h } = ui.video;
    if (w > 0 && h > 0 && !busy) await runOn(ui.video, w, h);
    requestAnimationFrame(() => void loop());
  };
  void loop();
}

async function start(): Promise<void> {
  const forced = requestedBackend();
  config = await loadConfig();
  state.format = config.format;
  ui.model.textContent = `${config.model ?? 'model'} (${config.format}, ${config.imgsz} px, ${config.nc} classes)`;
  setStatus(forced ? `starting ${forced}…` : 'choosing a backend…');
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
  setStatus('ready: pick an image or use the camera');
}

ui.file.addEventListener('change', () => void onFile().catch(fail));
ui.camera.addEventListener('click', () => void toggleCamera().catch((err) => {
  stopCamera();
  fail(err);
}));
const rerun = (): void => {
  if (current && !stream && !busy) void runOn(current.source, current.width, current.height);
};
ui.conf.addEventListener('change', rerun);
ui.iou.addEventListener('change', rerun);

start().catch(fail);
