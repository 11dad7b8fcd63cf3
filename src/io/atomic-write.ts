/**
 * Crash-safe writes for checkpoints and exported models.
 *
 * Single files: data goes to a temp file beside the target, is fsynced, then
 * renamed over the target (rename is atomic within one filesystem), so readers
 * see either the old or the new file, never a torn one.
 *
 * Directories (`writeFilesAtomic`): everything is written into a sibling
 * `<dir>.tmp-<pid>-<rand>` and then swapped in:
 *
 *   1. rename `<dir>` -> `<dir>.old-<pid>-<rand>`   (only if `<dir>` exists)
 *   2. rename temp -> `<dir>`
 *   3. remove the `.old-*` directory
 *
 * POSIX cannot atomically replace a non-empty directory, so between steps 1
 * and 2 `<dir>` briefly does not exist. A process killed in that window leaves
 * the previous complete copy as `<dir>.old-*`; `recoverAtomicDir` (run at the
 * start of every write, and by readers such as the file model handler) renames
 * it back. A crash before step 1 leaves a stale `.tmp-*`, and one after step 2
 * a stale `.old-*`; both are deleted by the next recovery. Only leftovers whose
 * writer pid is no longer running are touched, so a concurrent writer in
 * another process is not sabotaged — but two processes writing the same
 * directory at once are still not supported.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export type FileData = string | Uint8Array;

/** @internal Test hook: lets tests fail or kill the process at a given step. */
export type AtomicWritePhase = 'temp-written' | 'old-moved-aside';
export interface AtomicWriteOptions {
  /** @internal */
  hook?: (phase: AtomicWritePhase) => void | Promise<void>;
}

const LEFTOVER = /^\.(tmp|old)-(\d+)-[0-9a-f]+$/;

function uniqueSuffix(kind: 'tmp' | 'old'): string {
  return `.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means the pid exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Directory fsync makes the rename itself durable; unsupported on some platforms (Windows). */
async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function writeAndSync(file: string, data: FileData): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Siblings of `target` named `<base><.tmp|.old>-<pid>-<hex>` whose writer is dead. */
async function staleLeftovers(target: string): Promise<{ kind: 'tmp' | 'old'; path: string }[]> {
  const parent = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return [];
  }
  const found: { kind: 'tmp' | 'old'; path: string }[] = [];
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const m = LEFTOVER.exec(name.slice(base.length));
    if (m && !isAlive(Number(m[2]))) {
      found.push({ kind: m[1] as 'tmp' | 'old', path: path.join(parent, name) });
    }
  }
  return found;
}

/**
 * Repairs the state an interrupted `writeFilesAtomic` (or `writeFileAtomic`)
 * may leave: if `target` is missing but a `.old-*` copy exists, the newest is
 * renamed back; all other stale `.tmp-*` / `.old-*` siblings are deleted.
 * Returns true if `target` was restored.
 */
export async function recoverAtomicDir(target: string): Promise<boolean> {
  const leftovers = await staleLeftovers(target);
  let restored = false;
  if (!(await exists(target))) {
    const olds = leftovers.filter((l) => l.kind === 'old');
    if (olds.length > 0) {
      const withTimes = await Promise.all(olds.map(async (o) => ({ o, mtime: (await fs.stat(o.path)).mtimeMs })));
      withTimes.sort((a, b) => b.mtime - a.mtime);
      const newest = withTimes[0]!.o;
      await fs.rename(newest.path, target);
      await fsyncDir(path.dirname(target));
      leftovers.splice(leftovers.indexOf(newest), 1);
      restored = true;
    }
  }
  await Promise.all(leftovers.map((l) => fs.rm(l.path, { recursive: true, force: true })));
  return restored;
}

/** Atomically replaces the file at `file` with `data`, creating parent directories. */
export async function writeFileAtomic(file: string, data: FileData, options: AtomicWriteOptions = {}): Promise<void> {
  const target = path.resolve(file);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  await recoverAtomicDir(target);
  const temp = target + uniqueSuffix('tmp');
  try {
    await writeAndSync(temp, data);
    await options.hook?.('temp-written');
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(parent);
}

/**
 * Atomically replaces directory `dir` with one containing exactly `files`
 * (relative paths; subdirectories are created). Anything else that was in
 * `dir` is gone afterwards: the directory is owned by the writer.
 */
export async function writeFilesAtomic(dir: string, files: Record<string, FileData>, options: AtomicWriteOptions = {}): Promise<void> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  await recoverAtomicDir(target);

  const temp = target + uniqueSuffix('tmp');
  try {
    await fs.mkdir(temp);
    for (const [rel, data] of Object.entries(files)) {
      const dest = path.resolve(temp, rel);
      if (path.relative(temp, dest).startsWith('..') || path.isAbsolute(rel)) {
        throw new Error(`writeFilesAtomic: file name escapes the directory: ${rel}`);
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await writeAndSync(dest, data);
    }
    await fsyncDir(temp);
    await options.hook?.('temp-written');
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }

  const old = (await exists(target)) ? target + uniqueSuffix('old') : null;
  try {
    if (old) await fs.rename(target, old);
    await options.hook?.('old-moved-aside');
    await fs.rename(temp, target);
  } catch (err) {
    // Put the previous version back so a failed (not killed) write changes nothing.
    if (old && !(await exists(target))) await fs.rename(old, target).catch(() => undefined);
    await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(parent);
  if (old) await fs.rm(old, { recursive: true, force: true });
}
