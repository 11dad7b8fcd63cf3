/**
 * Runs an ablation suite (`yolor ablate`): every variant × seed is one
 * training run in its own process (train/run-process.ts: several can run at
 * once with `jobs`, each with its own tfjs engine; the settings not chosen
 * here are `yolor train`'s defaults), with the variant's model config written next
 * to the results. The last epoch of each run's results.csv gives its metrics;
 * parameters and GFLOPs come from the trained checkpoint's config (training
 * model, and the folded deploy model at the training image size). Variants of
 * several runs (four single-task networks) combine their runs' metrics and sum
 * their sizes and times. Output under <project>/<suite>/: configs/, runs/, logs/,
 * results.md, results.json and chart.png.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { datasetSplit, loadDetectionDatasetAsync } from '../data/resolve.js';
import type { BackendRequest } from '../engine/backend.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readJsonFile } from '../io/json.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from '../models/config.js';
import { configForDataset } from '../models/dataset-config.js';
import { Detector } from '../models/detector.js';
import { summarizeModel } from '../models/summary.js';
import { resolveModelConfig } from '../models/zoo.js';
import { checkTaskLabels, type DatasetLabelInfo, datasetLabelInfo, parseTaskList } from '../tasks/multitask.js';
import { TRAIN_DEFAULTS } from '../train/defaults.js';
import { parseResultsCsv } from '../train/results.js';
import { trainInProcess } from '../train/run-process.js';
import type { TrainOptions } from '../train/trainer.js';
import { ProgressBar } from '../util/progress.js';
import { type SuiteReport, type VariantResult, writeSuiteReport } from './report.js';
import { type AblationRun, type AblationVariant, findSuite, METRIC_COLUMNS } from './suites.js';

export interface AblateOptions {
  suite: string;
  data: string;
  /** Base model (zoo name or config file); variants replace fields of its config. */
  model: string;
  epochs: number;
  seeds: number;
  imgsz: number;
  batch: number;
  /** Training runs at once (separate processes). */
  jobs: number;
  /** --workers of each run (default: the cores shared among the jobs). */
  workers?: number;
  project: string;
  valSplit: string;
  limitTrain?: number;
  limitVal?: number;
  /** The command line, recorded in the report. */
  command: string;
  /** Backend of the training runs (default auto). */
  backend?: BackendRequest;
  /** Pretext suite: unlabelled images the encoders are pretrained on (`yolor pretrain --data`; default shapes-pretrain), epochs, image cap. */
  pretrainData?: string;
  pretrainEpochs?: number;
  pretrainLimit?: number;
  quiet?: boolean;
}

export interface AblateResult {
  dir: string;
  report: SuiteReport;
  files: { markdown: string; json: string; png: string };
}

/** A filesystem-safe id (`single×4` → `single-x4`). */
export function slug(s: string): string {
  return s.replace(/×/g, '-x').replace(/[^A-Za-z0-9._-]+/g, '-');
}

function uniqueDir(project: string, name: string): string {
  let dir = resolve(project, name);
  for (let k = 2; existsSync(dir); k++) dir = resolve(project, `${name}${k}`);
  return dir;
}

/** The base config with a run's overrides (nested `implicit` fields merged) and the data's label spaces. */
export function runConfig(
  base: ModelConfig,
  run: AblationRun,
  data: { names: string[]; info: DatasetLabelInfo },
  widthMultiple?: number,
): ModelConfig {
  return configForDataset(base, data, {
    tasks: run.tasks,
    overrides: run.overrides,
    where: `${base.name} (${run.label || 'ablation'})`,
    ...(widthMultiple !== undefined ? { widthMultiple } : {}),
  });
}

function countParams(cfg: ModelConfig): number {
  const m = new Detector(cfg);
  const n = m.numParams();
  m.dispose();
  return n;
}

/**
 * The width multiple at which the runs' models together have about `target`
 * parameters (bisection; parameter count grows with width).
 */
export function matchWidth(
  base: ModelConfig,
  runs: readonly AblationRun[],
  data: { names: string[]; info: DatasetLabelInfo },
  target: number,
): number {
  const total = (w: number): number => runs.reduce((s, r) => s + countParams(runConfig(base, r, data, w)), 0);
  let lo = 0.01;
  let hi = base.dims.widthMultiple;
  if (total(hi) <= target) return hi;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    if (total(mid) > target) hi = mid;
    else lo = mid;
  }
  const w = Math.abs(total(lo) - target) <= Math.abs(total(hi) - target) ? lo : hi;
  return Math.round(w * 1000) / 1000;
}

interface Job {
  variant: AblationVariant;
  run: AblationRun;
  seed: number;
  name: string;
  configPath: string;
}

interface JobResult {
  metrics: Record<string, number>;
  seconds: number;
  params: number;
  deployParams: number;
  gflops: number;
}

/** Metrics (last epoch), training time and model size of a finished run. */
function readRun(runDir: string, imgsz: number): JobResult {
  const rows = parseResultsCsv(readFileSync(join(runDir, 'results.csv'), 'utf8'));
  const last = rows.at(-1);
  if (!last) throw new Error(`${runDir}: results.csv has no epochs`);
  const metrics: Record<string, number> = {};
  for (const [name, col] of Object.entries(METRIC_COLUMNS)) {
    const v = (last as unknown as Record<string, number>)[col];
    metrics[name] = v === undefined ? Number.NaN : v;
  }
  const seconds = rows.reduce((s, r) => s + r.time, 0);
  const meta = readJsonFile(join(runDir, 'weights', 'last', 'model.json')) as { userDefinedMetadata: { config: unknown } };
  const model = new Detector(parseModelConfig(meta.userDefinedMetadata.config, `${runDir}/weights/last`));
  const params = model.numParams();
  const { model: deploy } = model.fuse();
  const gflops = summarizeModel(deploy, imgsz).gflops;
  const deployParams = deploy.numParams();
  deploy.dispose();
  model.dispose();
  return { metrics, seconds, params, deployParams, gflops };
}

export async function runAblation(opts: AblateOptions): Promise<AblateResult> {
  const suite = findSuite(opts.suite);
  if (opts.seeds < 1) throw new Error(`--seeds must be at least 1, got ${opts.seeds}`);
  if (opts.jobs < 1) throw new Error(`--jobs must be at least 1, got ${opts.jobs}`);
  const ds = await loadDetectionDatasetAsync(opts.data);
  datasetSplit(ds, 'train');
  datasetSplit(ds, opts.valSplit);
  const info = datasetLabelInfo(ds);
  for (const v of suite.variants) for (const r of v.runs) checkTaskLabels(r.tasks, info, ds.source);
  const data = { names: ds.names, info };
  const base = resolveModelConfig(opts.model);
  const dir = uniqueDir(opts.project, suite.name);
  for (const sub of ['configs', 'runs', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const say = (line: string): void => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };

  // ---- configs (the size-matched variants after the others)
  const jobs: Job[] = [];
  const paramsOf = new Map<string, number>();
  for (const v of [...suite.variants].sort((a, b) => Number(!!a.matchParamsOf) - Number(!!b.matchParamsOf))) {
    let width: number | undefined;
    if (v.matchParamsOf) {
      const target = paramsOf.get(v.matchParamsOf);
      if (target === undefined) throw new Error(`suite ${suite.name}: variant ${v.id} matches the size of unknown variant ${v.matchParamsOf}`);
      width = matchWidth(base, v.runs, data, target);
      say(
        `${v.id}: width multiple ${width} (${base.dims.widthMultiple} in ${base.name}) so that its ${v.runs.length} networks total ~${target} parameters`,
      );
    }
    let total = 0;
    for (const run of v.runs) {
      const cfg = runConfig(base, run, data, width);
      total += countParams(cfg);
      const id = slug(run.label ? `${v.id}-${run.label}` : v.id);
      const configPath = join(dir, 'configs', `${id}.yaml`);
      await writeFileAtomic(
        configPath,
        toYaml({
          ...serializeModelConfig(cfg),
          name: `${base.name}-${id}`,
          description: `${suite.name}: ${v.description}${run.label ? ` (${run.label})` : ''}`,
        }),
      );
      for (let seed = 0; seed < opts.seeds; seed++) jobs.push({ variant: v, run, seed, name: `${id}-s${seed}`, configPath });
    }
    paramsOf.set(v.id, total);
  }
  // Variant order for running: as listed in the suite, seeds interleaved so early results cover every variant.
  const order = new Map(suite.variants.map((v, i) => [v.id, i]));
  jobs.sort((a, b) => a.seed - b.seed || order.get(a.variant.id)! - order.get(b.variant.id)!);

  // ---- training runs, `jobs` at a time
  const workers = opts.workers ?? Math.max(1, Math.floor(cpus().length / opts.jobs));
  say(
    `ablation ${suite.name}: ${suite.variants.length} variants × ${opts.seeds} seed(s) = ${jobs.length} training runs, ${opts.jobs} at a time, ` +
      `${opts.epochs} epochs at ${opts.imgsz} px on ${opts.data} → ${dir}`,
  );
  const bar = opts.quiet ? null : new ProgressBar({ total: jobs.length, label: 'ablate', unit: 'run' });
  // Pretext suite: pretrain the run's encoder (its weights become the run's initial weights) and probe the encoder it
  // starts from on the object crops of the ablation's own data (scratch: the random network of the same seed).
  const pretrainForJob = async (job: Job, train: TrainOptions): Promise<{ seconds: number; probeTop1: number } | null> => {
    if (!suite.variants.some((v) => v.runs.some((r) => r.pretrain))) return null;
    const t0 = performance.now();
    let encoder = 'random';
    if (job.run.pretrain) {
      const { pretrain } = await import('../train/pretrain.js');
      const p = await pretrain({
        data: opts.pretrainData ?? 'shapes-pretrain',
        model: job.configPath,
        tasks: job.run.pretrain.tasks,
        imgsz: opts.imgsz,
        epochs: opts.pretrainEpochs ?? 2,
        batch: 16,
        optimizer: 'adamw',
        project: join(dir, 'pretrain'),
        name: job.name,
        seed: job.seed,
        ...(opts.pretrainLimit !== undefined ? { limit: opts.pretrainLimit } : {}),
        quiet: true,
      });
      encoder = join(p.runDir, 'weights', 'last');
      train.weights = encoder;
    }
    const seconds = (performance.now() - t0) / 1000;
    const { probe } = await import('../train/probe.js');
    const pr = await probe({
      weights: encoder,
      ...(encoder === 'random' ? { model: job.configPath } : {}),
      data: opts.data,
      crops: true,
      knn: 0,
      epochs: 10,
      imgsz: opts.imgsz,
      seed: job.seed,
      project: join(dir, 'probe'),
      name: job.name,
      progress: false,
      log: () => {},
    });
    const row = pr.json.rows.find((x) => x.kind === (encoder === 'random' ? 'random' : 'checkpoint'));
    return { seconds, probeTop1: row ? row.best.top1 : Number.NaN };
  };
  const results = new Map<Job, JobResult>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const train: TrainOptions = {
        data: opts.data,
        model: job.configPath,
        epochs: opts.epochs,
        batch: opts.batch,
        project: join(dir, 'runs'),
        name: job.name,
        seed: job.seed,
        workers,
        syncBn: TRAIN_DEFAULTS.syncBn,
        optimizer: TRAIN_DEFAULTS.optimizer,
        patience: TRAIN_DEFAULTS.patience,
        cache: true,
        valSplit: opts.valSplit,
        nbs: TRAIN_DEFAULTS.nbs,
        skipBad: TRAIN_DEFAULTS.skipBad,
        imgsz: opts.imgsz,
        tasks: parseTaskList(job.run.tasks),
        ...(opts.limitTrain !== undefined ? { limitTrain: opts.limitTrain } : {}),
        ...(opts.limitVal !== undefined ? { limitVal: opts.limitVal } : {}),
        taskWeights: { ...job.run.taskWeights },
        uncertainty: TRAIN_DEFAULTS.uncertainty,
        dice: TRAIN_DEFAULTS.dice,
      };
      const before = await pretrainForJob(job, train);
      await trainInProcess(train, join(dir, 'logs', `${job.name}.log`), opts.backend ?? 'auto');
      const r = readRun(join(dir, 'runs', job.name), opts.imgsz);
      if (before) {
        r.seconds += before.seconds;
        r.metrics['probe top-1'] = before.probeTop1;
      }
      results.set(job, r);
      // The report so far (seeds not yet run are left out), so a stopped study still has its results.
      await writeSuiteReport(dir, buildReport());
      bar?.tick(1);
      const shown = (job.run.provides ?? suite.metricOrder).filter((m) => Number.isFinite(r.metrics[m]));
      say(`  ${job.name}: ${shown.map((m) => `${m} ${r.metrics[m]!.toFixed(3)}`).join(', ')} (${r.seconds.toFixed(0)} s)`);
    }
  };
  // ---- per-variant results over the seeds whose runs have all finished
  const metricNames = Object.keys(METRIC_COLUMNS);
  const buildReport = (): SuiteReport => ({
    suite: suite.name,
    title: suite.title,
    data: opts.data,
    epochs: opts.epochs,
    imgsz: opts.imgsz,
    command: opts.command,
    metricOrder: suite.metricOrder,
    variants: suite.variants.map(variantResult),
  });
  const variantResult = (v: AblationVariant): VariantResult => {
    const metrics: Record<string, number[]> = Object.fromEntries(metricNames.map((m) => [m, [] as number[]]));
    const seconds: number[] = [];
    const seeds: number[] = [];
    let size = { params: 0, deployParams: 0, gflops: 0 };
    for (let seed = 0; seed < opts.seeds; seed++) {
      const mine = jobs.filter((j) => j.variant === v && j.seed === seed);
      if (!mine.every((j) => results.has(j))) continue;
      seeds.push(seed);
      const runs = mine.map((j) => ({ job: j, r: results.get(j)! }));
      for (const m of metricNames) {
        const from = runs.find(({ job }) => !job.run.provides || job.run.provides.includes(m));
        metrics[m]!.push(from ? from.r.metrics[m]! : Number.NaN);
      }
      seconds.push(runs.reduce((s, { r }) => s + r.seconds, 0));
      size = {
        params: runs.reduce((s, { r }) => s + r.params, 0),
        deployParams: runs.reduce((s, { r }) => s + r.deployParams, 0),
        gflops: runs.reduce((s, { r }) => s + r.gflops, 0),
      };
    }
    const shown = Object.fromEntries(suite.metricOrder.map((m) => [m, metrics[m]!]));
    return { variant: v.id, description: v.description, ...size, seeds, metrics: shown, seconds };
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.jobs, jobs.length) }, () => worker()));
  } finally {
    bar?.finish();
  }
  const report = buildReport();
  const files = await writeSuiteReport(dir, report);
  return { dir, report, files };
}
