/**
 * Dataset statistics for `yolor data stats`: counts per class, boxes per image,
 * box sizes, class imbalance, images without labels and the bad-input report.
 * Pure computation on a DetectionDataset (never throws on bad input: problems
 * found while reading are in `ds.bad` and are passed through).
 */
import type { BadInput, DetectionDataset, ImageRecord } from './types.js';

/** A class is flagged as under-represented below this fraction of the largest class's count. */
export const IMBALANCE_FRACTION = 0.1;

/** Integer-valued histogram: bin k counts values in [k·binWidth, (k+1)·binWidth). */
export interface CountHistogram {
  binWidth: number;
  counts: number[];
}

/** Histogram over [0, 1] in equal bins. */
export interface UnitHistogram {
  bins: number;
  counts: number[];
}

export interface ClassImbalanceWarning {
  class: string;
  count: number;
  /** count / (largest class count) */
  fraction: number;
  largest: string;
  largestCount: number;
}

export interface DatasetStats {
  name: string;
  source: string;
  format: DetectionDataset['format'];
  split: string;
  images: number;
  /** Class name → instances in the split (every class, zeros included). */
  instances: Record<string, number>;
  /** Class name → images with at least one instance. */
  imagesPerClass: Record<string, number>;
  totalInstances: number;
  difficult: number;
  crowd: number;
  boxesPerImage: { mean: number; max: number; histogram: CountHistogram };
  /** sqrt(box area / image area), 20 bins over [0, 1]. */
  boxSize: UnitHistogram & { median: number };
  /** COCO's area ranges in original pixels: small < 32², medium < 96², large. */
  sizeRanges: { small: number; medium: number; large: number };
  /** Relative box width (x) and height (y), bins × bins over [0, 1]², row-major with y (height) rows. */
  boxWh: { bins: number; counts: number[] };
  imageSizes: { distinct: number; min: [number, number] | null; max: [number, number] | null; common: [number, number] | null };
  imagesWithoutLabels: number;
  /** Up to 10 of them. */
  imagesWithoutLabelsExamples: string[];
  imbalance: ClassImbalanceWarning[];
  /** Human-readable warnings (imbalance, empty split, images without labels, bad input). */
  warnings: string[];
  /** Every problem found while reading the dataset (all splits): file, problem, action. */
  bad: BadInput[];
  badByAction: Record<string, number>;
}

const BOX_SIZE_BINS = 20;
const WH_BINS = 32;
const MAX_COUNT_BINS = 50;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function unitBin(v: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
}

/** Integer histogram with at most MAX_COUNT_BINS bins (wider bins when the maximum is large). */
export function countHistogram(values: readonly number[]): CountHistogram {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const binWidth = Math.max(1, Math.ceil((max + 1) / MAX_COUNT_BINS));
  const counts = new Array<number>(Math.floor(max / binWidth) + 1).fill(0);
  for (const v of values) counts[Math.floor(v / binWidth)]!++;
  return { binWidth, counts };
}

/** Statistics of one split's images (`split` is only the label). */
export function computeDatasetStats(ds: DetectionDataset, images: readonly ImageRecord[], split: string): DatasetStats {
  const nc = ds.names.length;
  const perClass = new Array<number>(nc).fill(0);
  const imgPerClass = new Array<number>(nc).fill(0);
  const perImage: number[] = [];
  const sizes: number[] = [];
  const sizeHist = new Array<number>(BOX_SIZE_BINS).fill(0);
  const wh = new Array<number>(WH_BINS * WH_BINS).fill(0);
  const ranges = { small: 0, medium: 0, large: 0 };
  const imageSizes = new Map<string, number>();
  let difficult = 0;
  let crowd = 0;
  let total = 0;
  const empty: string[] = [];
  let nEmpty = 0;
  let min: [number, number] | null = null;
  let max: [number, number] | null = null;
  for (const im of images) {
    const key = `${im.width}x${im.height}`;
    imageSizes.set(key, (imageSizes.get(key) ?? 0) + 1);
    if (!min || im.width * im.height < min[0] * min[1]) min = [im.width, im.height];
    if (!max || im.width * im.height > max[0] * max[1]) max = [im.width, im.height];
    perImage.push(im.annotations.length);
    if (im.annotations.length === 0) {
      nEmpty++;
      if (empty.length < 10) empty.push(im.file);
    }
    const seen = new Set<number>();
    for (const a of im.annotations) {
      total++;
      if (a.cls >= 0 && a.cls < nc) {
        perClass[a.cls]!++;
        if (!seen.has(a.cls)) {
          seen.add(a.cls);
          imgPerClass[a.cls]!++;
        }
      }
      if (a.difficult) difficult++;
      if (a.iscrowd) crowd++;
      const w = a.box[2] - a.box[0];
      const h = a.box[3] - a.box[1];
      const area = w * h;
      if (area < 32 * 32) ranges.small++;
      else if (area < 96 * 96) ranges.medium++;
      else ranges.large++;
      if (im.width > 0 && im.height > 0) {
        const rel = Math.sqrt(area / (im.width * im.height));
        sizes.push(rel);
        sizeHist[unitBin(rel, BOX_SIZE_BINS)]!++;
        wh[unitBin(h / im.height, WH_BINS) * WH_BINS + unitBin(w / im.width, WH_BINS)]!++;
      }
    }
  }
  const instances = Object.fromEntries(ds.names.map((n, i) => [n, perClass[i]!]));
  const imagesPerClass = Object.fromEntries(ds.names.map((n, i) => [n, imgPerClass[i]!]));
  const imbalance: ClassImbalanceWarning[] = [];
  const largestCount = Math.max(0, ...perClass);
  const largest = ds.names[perClass.indexOf(largestCount)] ?? '';
  if (largestCount > 0) {
    perClass.forEach((c, i) => {
      if (c < IMBALANCE_FRACTION * largestCount) imbalance.push({ class: ds.names[i]!, count: c, fraction: c / largestCount, largest, largestCount });
    });
  }
  const warnings: string[] = [];
  if (images.length === 0) warnings.push(`split '${split}' has no images`);
  for (const w of imbalance) {
    warnings.push(
      w.count === 0
        ? `class '${w.class}' has no instances`
        : `class '${w.class}' has ${w.count} instances, ${(100 * w.fraction).toFixed(1)}% of '${w.largest}' (${w.largestCount}): under-represented`,
    );
  }
  if (nEmpty > 0) warnings.push(`${nEmpty} of ${images.length} images have no labels (background images)`);
  const badByAction: Record<string, number> = {};
  for (const b of ds.bad) badByAction[b.action] = (badByAction[b.action] ?? 0) + 1;
  if (ds.bad.length > 0) {
    warnings.push(
      `${ds.bad.length} bad input entr${ds.bad.length === 1 ? 'y' : 'ies'} (${Object.entries(badByAction)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')})`,
    );
  }
  let common: [number, number] | null = null;
  let commonCount = 0;
  for (const [k, c] of imageSizes) {
    if (c > commonCount) {
      commonCount = c;
      common = k.split('x').map(Number) as [number, number];
    }
  }
  const sum = perImage.reduce((s, v) => s + v, 0);
  return {
    name: ds.name,
    source: ds.source,
    format: ds.format,
    split,
    images: images.length,
    instances,
    imagesPerClass,
    totalInstances: total,
    difficult,
    crowd,
    boxesPerImage: {
      mean: images.length ? sum / images.length : 0,
      max: perImage.reduce((m, v) => Math.max(m, v), 0),
      histogram: countHistogram(perImage),
    },
    boxSize: { bins: BOX_SIZE_BINS, counts: sizeHist, median: median(sizes) },
    sizeRanges: ranges,
    boxWh: { bins: WH_BINS, counts: wh },
    imageSizes: { distinct: imageSizes.size, min, max, common },
    imagesWithoutLabels: nEmpty,
    imagesWithoutLabelsExamples: empty,
    imbalance,
    warnings,
    bad: ds.bad,
    badByAction,
  };
}

function pct(n: number, d: number): string {
  return d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '-';
}

/** The text report `yolor data stats` prints (without the per-class table, which the CLI formats). */
export function statsSummaryLines(s: DatasetStats): string[] {
  const lines: string[] = [];
  const bpi = s.boxesPerImage;
  lines.push(
    `boxes per image: mean ${bpi.mean.toFixed(2)}, max ${bpi.max}; images without labels: ${s.imagesWithoutLabels} (${pct(s.imagesWithoutLabels, s.images)})`,
  );
  lines.push(
    `box size sqrt(area/image area): median ${s.boxSize.median.toFixed(3)}; ` +
      `small/medium/large (< 32², < 96², larger px²): ${s.sizeRanges.small}/${s.sizeRanges.medium}/${s.sizeRanges.large}`,
  );
  if (s.imageSizes.common) {
    const f = (v: [number, number] | null) => (v ? `${v[0]}x${v[1]}` : '-');
    lines.push(
      `image sizes: ${s.imageSizes.distinct} distinct, most common ${f(s.imageSizes.common)}, smallest ${f(s.imageSizes.min)}, largest ${f(s.imageSizes.max)}`,
    );
  }
  if (s.difficult + s.crowd > 0) lines.push(`difficult: ${s.difficult}, crowd regions: ${s.crowd}`);
  return lines;
}

/** One line per bad-input entry: `action  file: problem`. */
export function badInputLines(bad: readonly BadInput[]): string[] {
  return bad.map((b) => `${b.action.padEnd(7)}  ${b.file}: ${b.problem}`);
}
