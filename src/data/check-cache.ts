/**
 * The pre-flight check's verdict cache: one JSON file (default
 * `$YOLOR_CACHE_DIR/image-check.json`, else `~/.cache/yolor-ts/image-check.json`,
 * where the built-in datasets are cached) mapping an image's absolute path to
 * its verdict, valid while the file's size and modification time are those
 * recorded. A changed file (either differs) is decoded again.
 *
 * The verdict is the file's own (decoded size, or the decode problem), not the
 * comparison with an annotation, so one entry serves every dataset that uses
 * the file. Entries made by another decoder (sharp/libvips version) or another
 * check version are ignored. Writes are atomic, and merge with what another
 * process may have saved since this one read the file; entries of files that
 * no longer exist are dropped then.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { ImageVerdict } from './check-worker.js';
import { cacheRoot } from './datasets/instance-cache.js';

/** Bumped whenever the check's verdict for the same bytes could change (e.g. decoder strictness). */
const CHECK_VERSION = 1;

/** What the cached verdicts depend on besides the file: the check and the decoder. */
function decoderId(): string {
  return `check ${CHECK_VERSION}, sharp ${sharp.versions.sharp ?? '?'}, libvips ${sharp.versions.vips}`;
}

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

type Entry = FileStamp & ImageVerdict;

interface CacheFile {
  decoder: string;
  files: Record<string, Entry>;
}

/** The default cache file: `<cacheRoot>/image-check.json` ($YOLOR_CACHE_DIR or ~/.cache/yolor-ts). */
export function defaultImageCheckCache(): string {
  return join(cacheRoot(), 'image-check.json');
}

async function readEntries(path: string): Promise<Record<string, Entry>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {}; // no cache yet (or unreadable): everything is checked
  }
  try {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    if (parsed.decoder !== decoderId() || typeof parsed.files !== 'object' || parsed.files === null) return {};
    return parsed.files;
  } catch {
    return {}; // a damaged cache is rebuilt
  }
}

function isEntry(e: unknown): e is Entry {
  const x = e as Partial<Entry & { problem: unknown; width: unknown; height: unknown }> | undefined;
  if (!x || typeof x.size !== 'number' || typeof x.mtimeMs !== 'number') return false;
  return typeof x.problem === 'string' || (typeof x.width === 'number' && typeof x.height === 'number');
}

export class ImageCheckCache {
  private readonly added: Record<string, Entry> = {};

  private constructor(
    readonly path: string,
    private readonly entries: Record<string, Entry>,
  ) {}

  static async open(path: string): Promise<ImageCheckCache> {
    return new ImageCheckCache(resolve(path), await readEntries(resolve(path)));
  }

  /** The cached verdict of `file` if its size and mtime are those recorded. */
  get(file: string, stamp: FileStamp): ImageVerdict | undefined {
    const e = this.added[resolve(file)] ?? this.entries[resolve(file)];
    if (!isEntry(e) || e.size !== stamp.size || e.mtimeMs !== stamp.mtimeMs) return undefined;
    return 'problem' in e ? { problem: e.problem } : { width: e.width, height: e.height };
  }

  set(file: string, stamp: FileStamp, verdict: ImageVerdict): void {
    this.added[resolve(file)] = { size: stamp.size, mtimeMs: stamp.mtimeMs, ...verdict };
  }

  /**
   * Writes the new verdicts, merged into the file as it is now, without the
   * entries of files that no longer exist (so the cache does not grow with
   * deleted datasets); nothing when there are no new verdicts.
   */
  async save(): Promise<void> {
    if (Object.keys(this.added).length === 0) return;
    const before = Object.entries(await readEntries(this.path)).filter(([file]) => !(file in this.added));
    const exists = await Promise.all(
      before.map(([file]) =>
        stat(file).then(
          () => true,
          () => false,
        ),
      ),
    );
    const files = { ...Object.fromEntries(before.filter((_, i) => exists[i])), ...this.added };
    await writeFileAtomic(this.path, `${JSON.stringify({ decoder: decoderId(), files } satisfies CacheFile)}\n`);
  }
}
