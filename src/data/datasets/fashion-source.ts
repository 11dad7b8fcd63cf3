/**
 * The Fashion-MNIST source items of the fashion dataset: where the IDX files
 * are (the `fashionDir` option, $YOLOR_FASHION_DIR, or the Debian package
 * `dataset-fashion-mnist`, found with `dpkg -L` or in
 * /usr/share/datasets/fashion-mnist and similar places), their items with
 * labels checked against the 10 classes, and a fingerprint of them (part of
 * what a cached fashion dataset is checked against).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type IdxImages, type IdxLabels, readIdxPair } from '../formats/idx.js';
import { cacheRoot } from './instance-cache.js';

export const FASHION_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

// ---------------------------------------------------------------------------
// Finding the IDX files
// ---------------------------------------------------------------------------

export interface FashionFiles {
  dir: string;
  trainImages: string;
  trainLabels: string;
  /** Absent when the directory has only the train files. */
  testImages?: string;
  testLabels?: string;
}

/** Directories where distributions put Fashion-MNIST (Debian's package uses the first). */
export const FASHION_SYSTEM_DIRS: readonly string[] = [
  '/usr/share/datasets/fashion-mnist',
  '/usr/share/dataset-fashion-mnist',
  '/usr/share/fashion-mnist',
  '/usr/local/share/datasets/fashion-mnist',
  '/usr/share/datasets/fashion_mnist',
];

const FILE_PATTERNS = {
  trainImages: /^train-images[-.]idx3-ubyte(\.gz)?$/,
  trainLabels: /^train-labels[-.]idx1-ubyte(\.gz)?$/,
  testImages: /^t10k-images[-.]idx3-ubyte(\.gz)?$/,
  testLabels: /^t10k-labels[-.]idx1-ubyte(\.gz)?$/,
} as const;

/** The four IDX files in `dir` (plain preferred over .gz when both exist); null without the train pair. */
export function fashionFilesIn(dir: string): FashionFiles | null {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return null;
    names = readdirSync(dir).sort();
  } catch {
    return null;
  }
  const find = (re: RegExp): string | undefined => {
    const hits = names.filter((n) => re.test(n));
    return hits.length ? join(dir, hits.find((n) => !n.endsWith('.gz')) ?? hits[0]!) : undefined;
  };
  const trainImages = find(FILE_PATTERNS.trainImages);
  const trainLabels = find(FILE_PATTERNS.trainLabels);
  if (!trainImages || !trainLabels) return null;
  const testImages = find(FILE_PATTERNS.testImages);
  const testLabels = find(FILE_PATTERNS.testLabels);
  return testImages && testLabels ? { dir, trainImages, trainLabels, testImages, testLabels } : { dir, trainImages, trainLabels };
}

/** Directories holding IDX files of the installed `dataset-fashion-mnist` package (`dpkg -L`); [] when dpkg or the package is missing. */
export function dpkgFashionDirs(): string[] {
  let out: string;
  try {
    out = execFileSync('dpkg', ['-L', 'dataset-fashion-mnist'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return [];
  }
  const dirs = new Set<string>();
  for (const line of out.split('\n')) {
    const f = line.trim();
    if (/-(images-idx3|labels-idx1)-ubyte(\.gz)?$/.test(f)) dirs.add(dirname(f));
  }
  return [...dirs];
}

export function fashionMissingMessage(looked: readonly string[]): string {
  return [
    `Fashion-MNIST IDX files not found (looked in: ${looked.length ? looked.join(', ') : 'nowhere'}).`,
    'To get them:',
    '  - Debian/Ubuntu: apt-get install dataset-fashion-mnist   (installs them under /usr/share/datasets/fashion-mnist), or',
    '  - download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz',
    '    from the Fashion-MNIST project (github.com/zalandoresearch/fashion-mnist) into a folder and pass --fashion-dir <folder>',
    '    (or set YOLOR_FASHION_DIR=<folder>).',
  ].join('\n');
}

/**
 * Locates the IDX files: `fashionDir` if given (no fallback: a wrong folder is
 * an error), else $YOLOR_FASHION_DIR (likewise), else the dataset-fashion-mnist
 * package (dpkg -L) and the usual system folders. Throws with instructions
 * when none has them.
 */
export function findFashionFiles(fashionDir?: string): FashionFiles {
  const explicit = fashionDir ?? process.env.YOLOR_FASHION_DIR;
  if (explicit) {
    const dir = resolve(explicit);
    const files = fashionFilesIn(dir);
    if (files) return files;
    const via = fashionDir ? '--fashion-dir' : 'YOLOR_FASHION_DIR';
    throw new Error(
      `${fashionMissingMessage([dir])}\n(${via} names ${dir}, which has no train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz].)`,
    );
  }
  const looked: string[] = [];
  for (const dir of [...dpkgFashionDirs(), ...FASHION_SYSTEM_DIRS, join(cacheRoot(), 'fashion-mnist')]) {
    if (looked.includes(dir)) continue;
    looked.push(dir);
    const files = fashionFilesIn(dir);
    if (files) return files;
  }
  throw new Error(fashionMissingMessage(looked));
}

/** The train (and, when present, t10k) items, with labels checked against the 10 classes. */
export interface FashionSource {
  files: FashionFiles;
  train: { images: IdxImages; labels: IdxLabels };
  test?: { images: IdxImages; labels: IdxLabels };
  /** Digest of the labels and sizes: part of what a cache is checked against. */
  fingerprint: string;
}

export function loadFashionSource(files: FashionFiles): FashionSource {
  const train = readIdxPair(files.trainImages, files.trainLabels);
  const test = files.testImages && files.testLabels ? readIdxPair(files.testImages, files.testLabels) : undefined;
  const h = createHash('sha256');
  for (const part of [train, test]) {
    if (!part) continue;
    const { images, labels } = part;
    if (part !== train && (images.rows !== train.images.rows || images.cols !== train.images.cols)) {
      throw new Error(`${images.file}: items are ${images.rows}×${images.cols}, the train items ${train.images.rows}×${train.images.cols}`);
    }
    for (let i = 0; i < labels.count; i++) {
      const l = labels.data[i]!;
      if (l >= FASHION_NAMES.length)
        throw new Error(`${labels.file}: label ${l} of item ${i} is out of range (Fashion-MNIST has ${FASHION_NAMES.length} classes)`);
    }
    h.update(`${images.count}x${images.rows}x${images.cols};`).update(labels.data);
    // A sample of pixels too, so different images with the same labels differ.
    for (let i = 0; i < images.data.length; i += 997) h.update(images.data.subarray(i, i + 1));
  }
  return { files, train, test, fingerprint: h.digest('hex').slice(0, 16) };
}

/** True when the IDX files can be found (for skipping work that needs them). */
export function fashionAvailable(fashionDir?: string): boolean {
  try {
    findFashionFiles(fashionDir);
    return true;
  } catch {
    return false;
  }
}
