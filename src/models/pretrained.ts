/**
 * Pretrained weights shipped in the package (`weights/<name>/`, e.g.
 * `yolor-n-ssl`): checkpoints made by one documented `yolor pretrain` command,
 * loadable by name wherever a checkpoint path is accepted as initial weights
 * (`yolor train --weights yolor-n-ssl`, `yolor probe --weights yolor-n-ssl`).
 * Each one's model.json says how it was made (`pretrained`: command, images,
 * tasks, time, probe figures); `yolor info --list-weights` lists them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder the shipped weights live in (the package's weights/). */
export const PRETRAINED_DIR = resolve(fileURLToPath(new URL('../../../weights/', import.meta.url)));

export interface PretrainedEntry {
  name: string;
  dir: string;
  /** The model's zoo name. */
  model: string;
  /** How it was made, from its model.json (`pretrained`). */
  made: Record<string, unknown>;
}

/** Every shipped checkpoint (sorted by name); none when the package has no weights/ folder. */
export function listPretrained(): PretrainedEntry[] {
  if (!existsSync(PRETRAINED_DIR)) return [];
  const out: PretrainedEntry[] = [];
  for (const name of readdirSync(PRETRAINED_DIR).sort()) {
    const json = join(PRETRAINED_DIR, name, 'model.json');
    if (!existsSync(json)) continue;
    const meta = (JSON.parse(readFileSync(json, 'utf8')) as { userDefinedMetadata?: Record<string, unknown> }).userDefinedMetadata ?? {};
    const config = (meta.config ?? {}) as { name?: string };
    out.push({ name, dir: join(PRETRAINED_DIR, name), model: config.name ?? '?', made: (meta.pretrained ?? {}) as Record<string, unknown> });
  }
  return out;
}

/**
 * The checkpoint directory `spec` names: an existing path as it is, else a shipped
 * checkpoint's name; an error naming both possibilities otherwise.
 */
export function resolveWeights(spec: string): string {
  if (existsSync(spec)) return spec;
  const entry = listPretrained().find((e) => e.name === spec);
  if (entry) return entry.dir;
  const names = listPretrained().map((e) => e.name);
  throw new Error(`--weights ${spec}: no such checkpoint directory${names.length ? `, nor a shipped one (${names.join(', ')})` : ''}`);
}

/** IEEE half-precision bits of a float32 value, rounded to nearest even (overflow → ±Inf, NaN kept). */
export function float16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa moves to the next exponent (up to Inf), as rounding should.
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/**
 * Writes a checkpoint's model (model.json + weights.bin; the optimiser state is not
 * copied) to `dest` with every float32 tensor stored as float16 (tfjs weight
 * quantization, which loadTensors decodes exactly to the float16 values), and
 * `made` (how it was made) in its metadata as `pretrained`.
 */
export async function packPretrained(src: string, dest: string, made: Record<string, unknown>): Promise<{ bytes: number; tensors: number }> {
  const { readFile, mkdir, writeFile, rename, rm } = await import('node:fs/promises');
  const json = JSON.parse(await readFile(join(src, 'model.json'), 'utf8')) as {
    weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string; quantization?: unknown }> }>;
    userDefinedMetadata?: Record<string, unknown>;
  } & Record<string, unknown>;
  const group = json.weightsManifest[0];
  if (!group || json.weightsManifest.length !== 1) throw new Error(`${join(src, 'model.json')}: expected one weights group`);
  const bin = new Uint8Array(await readFile(join(src, group.paths[0]!)));
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out: number[] = [];
  let offset = 0;
  const specs = group.weights.map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.dtype !== 'float32' || w.quantization)
      throw new Error(`${src}: tensor ${w.name} is ${w.dtype}${w.quantization ? ' (quantized)' : ''}, not plain float32`);
    for (let i = 0; i < n; i++) out.push(float16Bits(view.getFloat32(offset + 4 * i, true)));
    offset += 4 * n;
    return { name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16' } };
  });
  if (offset !== bin.byteLength) throw new Error(`${src}: weights.bin has ${bin.byteLength} bytes, the manifest ${offset}`);
  const halves = Uint16Array.from(out);
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const manifest = {
    ...json,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    userDefinedMetadata: { ...json.userDefinedMetadata, pretrained: made },
  };
  await writeFile(join(tmp, 'weights.bin'), new Uint8Array(halves.buffer));
  await writeFile(join(tmp, 'model.json'), JSON.stringify(manifest));
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
  return { bytes: halves.byteLength, tensors: specs.length };
}
