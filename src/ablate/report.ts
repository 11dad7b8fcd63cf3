/**
 * Ablation study report (`yolor ablate`): per-variant mean ± std over seeds,
 * written as `results.md` (table with the best mean per metric in bold and a
 * verdict line against the baseline), `results.json` (the raw report plus the
 * computed statistics) and `chart.png` (grouped bars with error bars and the
 * per-seed values as dots).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { type Ctx, drawAxes, fitText, font, newCanvas, paletteColor, savePng } from '../plot/canvas.js';
import { niceTicks } from '../plot/data-stats.js';

export interface VariantResult {
  /** Short id, e.g. 'none', 'add', 'mul'. */
  variant: string;
  /** One line, e.g. 'ImplicitAdd on neck outputs'. */
  description: string;
  /** Trainable parameters of the training model. */
  params: number;
  /** Parameters after folding for deployment. */
  deployParams: number;
  /** GFLOPs of one forward pass at the run's image size (deploy model). */
  gflops: number;
  /** Seeds run. */
  seeds: number[];
  /** Metric name → value per seed (same order as `seeds`); NaN where the variant lacks the metric. */
  metrics: Record<string, number[]>;
  /** Training time per seed, in seconds. */
  seconds: number[];
}

export interface SuiteReport {
  suite: string;
  title: string;
  data: string;
  epochs: number;
  imgsz: number;
  /** Command line that reproduces the study. */
  command: string;
  /** Metrics shown, in order; the first one decides the verdict. */
  metricOrder: string[];
  /** The first variant is the baseline. */
  variants: VariantResult[];
}

export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** `results.json`: the report, each variant with its statistics (NaN is written as null). */
export interface SuiteResultsJson extends Omit<SuiteReport, 'variants'> {
  variants: Array<VariantResult & { stats: Record<string, MeanStd>; time: MeanStd }>;
}

/** Mean and sample standard deviation (n − 1) of the finite values; std 0 when n = 1, mean NaN when n = 0. */
export function meanStd(xs: readonly number[]): MeanStd {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const ss = v.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** '0.412 ± 0.013'; '0.412' for a single value; '—' when there is none. */
export function formatMeanStd(xs: readonly number[], digits = 3): string {
  const { mean, std, n } = meanStd(xs);
  if (n === 0) return '—';
  if (n === 1) return mean.toFixed(digits);
  return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}

/** Three significant digits with a k / M / B suffix: 1234567 → '1.23M', 12345 → '12.3k', 999 → '999'. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const sign = n < 0 ? '-' : '';
  let a = Math.abs(n);
  const units = ['', 'k', 'M', 'B', 'T'];
  let u = 0;
  // Round first so 999_999 becomes '1M', not '1000k'.
  while (u < units.length - 1 && Number(a.toPrecision(3)) >= 1000) {
    a /= 1000;
    u++;
  }
  const digits = u === 0 && Number.isInteger(a) ? String(a) : String(Number(a.toPrecision(3)));
  return `${sign}${digits}${units[u]}`;
}

/** Metrics whose name ends in 'loss' are lower-is-better; all others higher-is-better. */
export function lowerIsBetter(metric: string): boolean {
  return metric.toLowerCase().endsWith('loss');
}

/** Decimals that suit a column whose largest |value| is `max`. */
function digitsFor(max: number): number {
  return max < 10 ? 3 : max < 100 ? 2 : max < 1000 ? 1 : 0;
}

function columnDigits(values: Iterable<number>): number {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  return digitsFor(max);
}

function cell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** Markdown code span that survives backticks inside `s`. */
function codeSpan(s: string): string {
  const runs = s.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = runs.length > 0 || s.startsWith(' ') || s.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

function signed(x: number, digits: number): string {
  const s = Math.abs(x).toFixed(digits);
  return `${x < 0 && Number(s) !== 0 ? '-' : '+'}${s}`;
}

function uniqueSeeds(r: SuiteReport): number[] {
  const out: number[] = [];
  for (const v of r.variants) for (const s of v.seeds) if (!out.includes(s)) out.push(s);
  return out;
}

/** Index of the variants with the best finite mean of `metric` (ties all count). */
function bestIndices(stats: readonly MeanStd[], metric: string): number[] {
  const lower = lowerIsBetter(metric);
  let best = NaN;
  for (const s of stats) {
    if (!Number.isFinite(s.mean)) continue;
    if (Number.isNaN(best) || (lower ? s.mean < best : s.mean > best)) best = s.mean;
  }
  if (Number.isNaN(best)) return [];
  return stats.flatMap((s, i) => (s.mean === best ? [i] : []));
}

function metricStats(r: SuiteReport, metric: string): MeanStd[] {
  return r.variants.map((v) => meanStd(v.metrics[metric] ?? []));
}

/** The closing line: which variant is best on the first metric and by how much over the baseline. */
function verdict(r: SuiteReport): string {
  const metric = r.metricOrder[0];
  if (metric === undefined) return 'No metrics to compare.';
  if (r.variants.length === 0) return 'No variants.';
  const stats = metricStats(r, metric);
  const digits = columnDigits(r.variants.flatMap((v) => v.metrics[metric] ?? []));
  const bi = bestIndices(stats, metric)[0];
  const m = codeSpan(metric);
  if (bi === undefined) return `No variant has a value of ${m}.`;
  const best = r.variants[bi]!;
  const b = stats[bi]!;
  const base = r.variants[0]!;
  const s0 = stats[0]!;
  const dir = lowerIsBetter(metric) ? 'lower is better' : 'higher is better';
  if (bi === 0) {
    return `Best on ${m} (${dir}): the baseline **${cell(base.variant)}** (${s0.mean.toFixed(digits)}); no variant improves on it.`;
  }
  if (!Number.isFinite(s0.mean)) {
    return `Best on ${m} (${dir}): **${cell(best.variant)}** (${b.mean.toFixed(digits)}); the baseline **${cell(base.variant)}** has no value to compare with.`;
  }
  const diff = b.mean - s0.mean;
  let rel = '';
  if (b.n >= 2 && s0.n >= 2) {
    const pooled = Math.sqrt(((b.n - 1) * b.std ** 2 + (s0.n - 1) * s0.std ** 2) / (b.n + s0.n - 2));
    if (pooled > 0) rel = `, ${signed(diff / pooled, 2)} pooled std`;
  }
  return (
    `Best on ${m} (${dir}): **${cell(best.variant)}** at ${b.mean.toFixed(digits)} vs ${s0.mean.toFixed(digits)} for the baseline ` +
    `**${cell(base.variant)}** (${signed(diff, digits)}${rel}; ${b.n} vs ${s0.n} seeds).`
  );
}

/** The report as Markdown: heading, run line, table (best mean per metric in bold) and verdict. */
export function suiteMarkdown(r: SuiteReport): string {
  const seeds = uniqueSeeds(r);
  const lines: string[] = [];
  lines.push(`# ${r.title}`, '');
  lines.push(
    `Suite ${codeSpan(r.suite)} · data ${codeSpan(r.data)} · ${r.epochs} epoch${r.epochs === 1 ? '' : 's'} · imgsz ${r.imgsz} · ` +
      `seeds ${seeds.length ? seeds.join(', ') : '—'} · reproduce: ${codeSpan(r.command)}`,
    '',
  );
  const header = ['variant', 'description', 'params', 'deploy params', 'GFLOPs', ...r.metricOrder.map(cell), 'time (s)'];
  const align = ['---', '---', '--:', '--:', '--:', ...r.metricOrder.map(() => '--:'), '--:'];
  lines.push(`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`);

  const perMetric = r.metricOrder.map((metric) => {
    const stats = metricStats(r, metric);
    return {
      digits: columnDigits(r.variants.flatMap((v) => v.metrics[metric] ?? [])),
      best: new Set(bestIndices(stats, metric)),
    };
  });
  const timeDigits = columnDigits(r.variants.flatMap((v) => v.seconds)) > 1 ? 1 : 0;
  r.variants.forEach((v, i) => {
    const row = [
      cell(v.variant),
      cell(v.description),
      formatCount(v.params),
      formatCount(v.deployParams),
      Number.isFinite(v.gflops) ? v.gflops.toFixed(v.gflops < 10 ? 2 : 1) : '—',
      ...r.metricOrder.map((metric, k) => {
        const text = formatMeanStd(v.metrics[metric] ?? [], perMetric[k]!.digits);
        return perMetric[k]!.best.has(i) ? `**${text}**` : text;
      }),
      formatMeanStd(v.seconds, timeDigits),
    ];
    lines.push(`| ${row.join(' | ')} |`);
  });
  lines.push('', verdict(r), '');
  return lines.join('\n');
}

function resultsJson(r: SuiteReport): SuiteResultsJson {
  return {
    ...r,
    variants: r.variants.map((v) => ({
      ...v,
      stats: Object.fromEntries([...new Set([...r.metricOrder, ...Object.keys(v.metrics)])].map((m) => [m, meanStd(v.metrics[m] ?? [])])),
      time: meanStd(v.seconds),
    })),
  };
}

const MAX_CHART_METRICS = 6;

/** Palette stepped by 3 so neighbouring variants get clearly different colours (still cycles all 20). */
function variantColor(i: number): string {
  return paletteColor(i * 3);
}

function noteText(ctx: Ctx, text: string, x: number, y: number, size = 14): void {
  ctx.font = font(size);
  ctx.fillStyle = '#777777';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, x, y);
}

/** Grouped bar chart: one group per metric, one bar per variant, ±std whiskers and per-seed dots. */
async function writeSuiteChart(path: string, r: SuiteReport): Promise<void> {
  const metrics = r.metricOrder.slice(0, MAX_CHART_METRICS);
  const V = Math.max(1, r.variants.length);
  const G = Math.max(1, metrics.length);
  const groupW = Math.max(150, V * 30 + 50);
  const legendW = 280;
  const plot = { x: 100, y: 70, w: Math.max(600, G * groupW), h: 460 };
  const W = plot.x + plot.w + 30 + legendW;
  const H = Math.max(plot.y + plot.h + 70, plot.y + V * 44 + 40); // legend rows are 44 px
  const { canvas, ctx } = newCanvas(W, H);

  const stats = metrics.map((m) => metricStats(r, m));
  let top = 0;
  metrics.forEach((m, k) => {
    r.variants.forEach((v, i) => {
      const s = stats[k]![i]!;
      if (Number.isFinite(s.mean)) top = Math.max(top, s.mean + (Number.isFinite(s.std) ? s.std : 0));
      for (const x of v.metrics[m] ?? []) if (Number.isFinite(x)) top = Math.max(top, x);
    });
  });
  const yTicks = niceTicks(top);
  const yMax = yTicks[yTicks.length - 1]!;
  ctx.font = font(18 * 1.15, true); // drawAxes' title font, for fitting
  const axes = drawAxes(ctx, plot, {
    title: fitText(ctx, r.title, plot.w),
    yLabel: 'mean ± std over seeds',
    xRange: [0, G],
    yRange: [0, yMax],
    xTicks: [],
    yTicks,
    fontSize: 18,
  });
  if (metrics.length === 0) noteText(ctx, 'no metrics', plot.x + plot.w / 2, plot.y + plot.h / 2, 18);

  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y - 1, plot.w, plot.h + 2);
  ctx.clip();
  const slot = plot.w / G;
  const inner = slot * 0.8;
  const barW = inner / V;
  const base = axes.py(0);
  metrics.forEach((m, k) => {
    const gx = axes.px(k) + (slot - inner) / 2;
    r.variants.forEach((v, i) => {
      const s = stats[k]![i]!;
      const x = gx + i * barW;
      const cx = x + barW / 2;
      if (!Number.isFinite(s.mean)) {
        if (barW >= 14) noteText(ctx, 'n/a', cx, base - 10, Math.min(12, barW * 0.6));
        return;
      }
      const y = axes.py(s.mean);
      ctx.fillStyle = variantColor(i);
      ctx.fillRect(x + 1, Math.min(y, base), Math.max(1, barW - 2), Math.abs(base - y));
      ctx.strokeStyle = '#333333';
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 1, Math.min(y, base), Math.max(1, barW - 2), Math.abs(base - y));
      if (s.n >= 2 && s.std > 0) {
        const ya = axes.py(s.mean - s.std);
        const yb = axes.py(s.mean + s.std);
        const cap = Math.max(3, barW * 0.25);
        ctx.strokeStyle = '#000000';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(cx, ya);
        ctx.lineTo(cx, yb);
        ctx.moveTo(cx - cap, ya);
        ctx.lineTo(cx + cap, ya);
        ctx.moveTo(cx - cap, yb);
        ctx.lineTo(cx + cap, yb);
        ctx.stroke();
      }
      // Per-seed values, spread across the bar so equal values stay visible.
      const vals = (v.metrics[m] ?? []).filter((x) => Number.isFinite(x));
      const spread = Math.max(0, barW - 10);
      vals.forEach((val, j) => {
        const dx = vals.length > 1 ? (j / (vals.length - 1) - 0.5) * spread * 0.6 : 0;
        ctx.beginPath();
        ctx.arc(cx + dx, axes.py(val), Math.max(2, Math.min(3.5, barW / 6)), 0, 2 * Math.PI);
        ctx.fillStyle = '#111111';
        ctx.fill();
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 1;
        ctx.stroke();
      });
    });
  });
  ctx.restore();

  // Metric names under the groups.
  ctx.fillStyle = '#000000';
  ctx.font = font(16);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  metrics.forEach((m, k) => {
    const label = `${m}${lowerIsBetter(m) ? ' ↓' : ''}`;
    ctx.fillText(fitText(ctx, label, slot - 8), axes.px(k + 0.5), plot.y + plot.h + 10);
  });
  if (r.metricOrder.length > MAX_CHART_METRICS) {
    ctx.font = font(13);
    ctx.fillStyle = '#777777';
    ctx.textAlign = 'right';
    ctx.fillText(`first ${MAX_CHART_METRICS} of ${r.metricOrder.length} metrics`, plot.x + plot.w, plot.y + plot.h + 36);
  }

  // Legend: colour per variant.
  const lx = plot.x + plot.w + 30;
  let ly = plot.y + 4;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  r.variants.forEach((v, i) => {
    ctx.fillStyle = variantColor(i);
    ctx.fillRect(lx, ly, 18, 18);
    ctx.strokeStyle = '#333333';
    ctx.lineWidth = 1;
    ctx.strokeRect(lx, ly, 18, 18);
    ctx.fillStyle = '#000000';
    ctx.font = font(16, i === 0);
    ctx.fillText(fitText(ctx, `${v.variant}${i === 0 ? ' (baseline)' : ''}`, legendW - 40), lx + 28, ly + 9);
    ctx.fillStyle = '#555555';
    ctx.font = font(12);
    ctx.fillText(fitText(ctx, v.description, legendW - 40), lx + 28, ly + 27);
    ly += 44;
  });
  ctx.fillStyle = '#555555';
  ctx.font = font(12);
  ctx.fillText('bar = mean, whisker = ±std, dot = seed', lx, ly + 6);
  await savePng(canvas, path);
}

/** Writes `results.md`, `results.json` and `chart.png` into `dir` (created if missing); returns their paths. */
export async function writeSuiteReport(dir: string, r: SuiteReport): Promise<{ markdown: string; json: string; png: string }> {
  await mkdir(dir, { recursive: true });
  const out = { markdown: join(dir, 'results.md'), json: join(dir, 'results.json'), png: join(dir, 'chart.png') };
  await writeFileAtomic(out.markdown, suiteMarkdown(r));
  await writeFileAtomic(out.json, `${JSON.stringify(resultsJson(r), null, 2)}\n`);
  await writeSuiteChart(out.png, r);
  return out;
}
