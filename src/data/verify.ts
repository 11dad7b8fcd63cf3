/**
 * Pre-flight check of a split's image files: every image is decoded completely
 * (the loader's own strict decoder, in worker threads), so missing, truncated,
 * corrupt or mis-sized images are found before training or evaluation starts —
 * the run aborts with the full report, or skips and counts them (--skip-bad).
 *
 * Verdicts are cached by absolute path, file size and modification time
 * (check-cache.ts): a second check of unchanged files decodes nothing, and a
 * changed file is decoded again. The comparison with the annotated size is
 * made every time, from the (cached) decoded size.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ProgressBar } from '../util/progress.js';
import { defaultImageCheckCache, type FileStamp, ImageCheckCache } from './check-cache.js';
import { checkImageFiles } from './check-pool.js';
import type { ImageVerdict } from './check-worker.js';
import type { BadInput, ImageRecord } from './types.js';

/** A progress bar is shown when at least this many files must be decoded. */
const PROGRESS_MIN_FILES = 50;

export interface VerifyOptions {
  /** Worker threads decoding the images (default 0: the main thread). */
  workers?: number;
  /** Show a progress bar (stderr) when many files must be decoded. */
  progress?: boolean;
  /** Label of the progress bar. */
  label?: string;
  /** The verdict cache file (default: defaultImageCheckCache()); null: no cache. */
  cacheFile?: string | null;
  /** Where a failure to save the cache is reported (it does not stop the check). */
  log?: (line: string) => void;
}

export interface ImageReport {
  good: ImageRecord[];
  bad: BadInput[];
  /** Distinct image files checked. */
  files: number;
  /** Of those, verdicts taken from the cache (unchanged files). */
  cached: number;
  /** Of those, decoded by this check. */
  decoded: number;
}

/** Size and mtime of a file, or the problem reading it (a missing file is a verdict, never cached). */
async function stampOf(file: string): Promise<FileStamp | { problem: string }> {
  try {
    const s = await stat(file);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { problem: 'image file not found' };
    return { problem: `cannot read image file (${(err as Error).message})` };
  }
}

export async function verifyImages(records: readonly ImageRecord[], opts: VerifyOptions = {}): Promise<ImageReport> {
  const files = [...new Set(records.map((r) => resolve(r.file)))];
  const cache = opts.cacheFile === null ? null : await ImageCheckCache.open(opts.cacheFile ?? defaultImageCheckCache());
  const verdicts = new Map<string, ImageVerdict>();
  const stamps = await Promise.all(files.map(stampOf));
  const toDecode: Array<{ file: string; stamp: FileStamp }> = [];
  let cached = 0;
  files.forEach((file, i) => {
    const stamp = stamps[i]!;
    if ('problem' in stamp) {
      verdicts.set(file, stamp);
      return;
    }
    const hit = cache?.get(file, stamp);
    if (hit) {
      verdicts.set(file, hit);
      cached++;
    } else {
      toDecode.push({ file, stamp });
    }
  });
  const bar =
    opts.progress && toDecode.length >= PROGRESS_MIN_FILES
      ? new ProgressBar({ total: toDecode.length, label: opts.label ?? 'check images', unit: 'img' })
      : null;
  let failed = 0;
  const decoded = await checkImageFiles(
    toDecode.map((d) => d.file),
    {
      workers: opts.workers ?? 0,
      onVerdict: bar ? (_, v) => bar.tick(1, { bad: 'problem' in v ? ++failed : failed }) : undefined,
    },
  );
  bar?.finish();
  toDecode.forEach(({ file, stamp }, i) => {
    verdicts.set(file, decoded[i]!);
    cache?.set(file, stamp, decoded[i]!);
  });
  await cache?.save().catch((err: Error) => opts.log?.(`image check: cannot save the verdict cache ${cache.path} (${err.message})`));

  const good: ImageRecord[] = [];
  const bad: BadInput[] = [];
  for (const r of records) {
    const v = verdicts.get(resolve(r.file))!;
    let problem: string | null = null;
    if ('problem' in v) problem = v.problem;
    else if (v.width !== r.width || v.height !== r.height) problem = `image is ${v.width}x${v.height} but its annotation says ${r.width}x${r.height}`;
    if (problem === null) good.push(r);
    else bad.push({ file: r.file, problem, action: 'fatal' });
  }
  return { good, bad, files: files.length, cached, decoded: toDecode.length };
}

/** What a check did, e.g. `364 images checked (360 cached, 4 decoded), 2 unreadable`. */
export function describeImageReport(v: ImageReport): string {
  return (
    `${v.files} image${v.files === 1 ? '' : 's'} checked (${v.cached} cached, ${v.decoded} decoded)` +
    (v.bad.length ? `, ${v.bad.length} unreadable` : '')
  );
}

/**
 * Aborts with the report, or (skipBad) drops the bad images and says how many.
 * The error is one line (the CLI prints an error's first line only) naming up
 * to 10 files with their problems; the skip notice lists them one per line.
 */
export function applyImageReport(
  split: string,
  v: { good: ImageRecord[]; bad: BadInput[] },
  skipBad: boolean,
  log: (s: string) => void,
): ImageRecord[] {
  if (v.bad.length === 0) return v.good;
  const shown = v.bad.slice(0, 10).map((b) => `${b.file}: ${b.problem.replace(/\s*\n\s*/g, ' ')}`);
  const more = v.bad.length > 10 ? `… and ${v.bad.length - 10} more ('yolor data stats' lists them all)` : '';
  if (!skipBad) {
    throw new Error(
      `${v.bad.length} unreadable image(s) in the ${split} split (use --skip-bad to skip them): ${[...shown, ...(more ? [more] : [])].join('; ')}`,
    );
  }
  log(`skipping ${v.bad.length} unreadable image(s) in the ${split} split:\n${[...shown, ...(more ? [more] : [])].map((l) => `  ${l}`).join('\n')}`);
  for (const b of v.bad) b.action = 'skipped';
  return v.good;
}
