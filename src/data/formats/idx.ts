/**
 * IDX reader (the MNIST / Fashion-MNIST file format).
 *
 * An IDX file is a 4-byte magic `0x00 0x00 <type> <ndims>`, then `ndims`
 * big-endian uint32 dimensions, then the data, row-major. Only the unsigned
 * byte type (0x08) is supported, which is what MNIST-style datasets use:
 *
 *   images: magic 0x00000803, dims n × rows × cols, uint8 pixels
 *   labels: magic 0x00000801, dims n, uint8 class indices
 *
 * Files may be plain or gzip-compressed (detected by the `.gz` suffix or the
 * gzip magic bytes `1f 8b`). Every error names the file and the problem.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  /** The file it was read from ('' for in-memory buffers without a name). */
  file: string;
  dims: number[];
  data: Uint8Array;
}

/** `n` images of `rows × cols` uint8 pixels, image-major (n × rows × cols). */
export interface IdxImages {
  file: string;
  count: number;
  rows: number;
  cols: number;
  data: Uint8Array;
}

export interface IdxLabels {
  file: string;
  count: number;
  data: Uint8Array;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses `bytes` when the name ends in `.gz` or the gzip magic is present; errors name the file. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes) && !file.toLowerCase().endsWith('.gz')) return bytes;
  if (!isGzip(bytes)) throw new Error(`${file}: named .gz but not gzip-compressed (no gzip magic 1f 8b)`);
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (err) {
    throw new Error(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Parses an (already decompressed) IDX buffer. `expectMagic`, when given, is
 * the exact magic the caller needs (e.g. IDX_IMAGES_MAGIC).
 */
export function parseIdx(bytes: Uint8Array, file = '', expectMagic?: number): IdxArray {
  const where = file || 'IDX data';
  if (bytes.length < 4) throw new Error(`${where}: truncated: ${bytes.length} bytes, too short for the 4-byte IDX magic`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || ndims === 0) {
    throw new Error(`${where}: bad magic ${hex(magic)}: not an IDX file`);
  }
  if (type !== 0x08) {
    throw new Error(
      `${where}: bad magic ${hex(magic)}: element type 0x${type.toString(16).padStart(2, '0')} is not supported (only unsigned bytes, 0x08)`,
    );
  }
  if (expectMagic !== undefined && magic !== expectMagic) {
    const what = expectMagic === IDX_IMAGES_MAGIC ? 'an images file' : expectMagic === IDX_LABELS_MAGIC ? 'a labels file' : 'the expected kind';
    throw new Error(`${where}: bad magic ${hex(magic)}: expected ${hex(expectMagic)} (${what})`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new Error(`${where}: truncated header: ${ndims} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const available = bytes.length - headerBytes;
  if (available < size) {
    throw new Error(`${where}: truncated data: dimensions ${dims.join('×')} need ${size} bytes after the header, the file has ${available}`);
  }
  if (available > size) {
    throw new Error(`${where}: ${available - size} unexpected trailing bytes after ${dims.join('×')} elements`);
  }
  return { file, dims, data: bytes.subarray(headerBytes, headerBytes + size) };
}

/** Reads an IDX file (plain or gzip). */
export function readIdx(file: string, expectMagic?: number): IdxArray {
  let raw: Uint8Array;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read IDX file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseIdx(maybeGunzip(raw, file), file, expectMagic);
}

export function readIdxImages(file: string): IdxImages {
  const a = readIdx(file, IDX_IMAGES_MAGIC);
  const [count, rows, cols] = a.dims as [number, number, number];
  return { file, count, rows, cols, data: a.data };
}

export function readIdxLabels(file: string): IdxLabels {
  const a = readIdx(file, IDX_LABELS_MAGIC);
  return { file, count: a.dims[0]!, data: a.data };
}

/** Reads an images file and its labels file, checking that the counts agree. */
export function readIdxPair(imagesFile: string, labelsFile: string): { images: IdxImages; labels: IdxLabels } {
  const images = readIdxImages(imagesFile);
  const labels = readIdxLabels(labelsFile);
  if (images.count !== labels.count) {
    throw new Error(`${imagesFile}: count mismatch: ${images.count} images but ${labelsFile} has ${labels.count} labels`);
  }
  return { images, labels };
}

/** Encodes a uint8 IDX array (for tests and tools); `gzip` compresses it. */
export function encodeIdx(dims: readonly number[], data: Uint8Array, gzip = false): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return gzip ? new Uint8Array(gzipSync(out)) : out;
}
