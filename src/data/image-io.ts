/**
 * Image decoding and encoding with sharp (libvips).
 *
 * Every decoded image is an 8-bit RGB `RgbImage` (HWC, row-major):
 *   - the EXIF orientation is applied (`.rotate()`), so width/height are those
 *     of the image as displayed — the same frame annotation tools label in;
 *   - grayscale (and CMYK, 16-bit, palette …) inputs are converted to sRGB 8-bit;
 *   - an alpha channel is composited over BLACK and dropped (transparent pixels
 *     become black, half-transparent ones are darkened). OpenCV's `imread`
 *     instead ignores alpha and keeps the hidden colour values; flattening is
 *     chosen so that what the model sees is what a viewer shows.
 *
 * Decoding is strict (`failOn: 'warning'`, sharp's default made explicit): a
 * truncated or body-corrupt file (libjpeg's "premature end of JPEG image",
 * "corrupt JPEG data …", a PNG with a damaged data stream) is an error rather
 * than an image with grey or garbled rows. The pre-flight check (verify.ts)
 * decodes with this same function, so it passes exactly the files the loader can read.
 *
 * Errors always name the file: `<path>: image file not found`,
 * `<path>: cannot decode image (truncated: …)` or `(corrupt image data: …)` when
 * the file decodes only with warnings tolerated, else
 * `<path>: cannot decode image (<sharp's message>)`.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { RgbImage } from './types.js';

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** async: sharp's constructor throws synchronously on some inputs (an empty buffer); here that is a rejection too. */
async function decodeRaw(buf: Uint8Array, failOn: 'warning' | 'none'): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  return sharp(buf, { failOn })
    .rotate()
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
}

/** Whether a JPEG or PNG file stops before its end marker (JPEG EOI, PNG IEND chunk); null for other formats. */
function endsEarly(buf: Uint8Array): boolean | null {
  if (buf[0] === 0xff && buf[1] === 0xd8) {
    let n = buf.length;
    while (n > 2 && buf[n - 1] === 0) n--; // some writers pad with zeros after EOI
    return !(buf[n - 2] === 0xff && buf[n - 1] === 0xd9);
  }
  if (buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) {
    const tail = Buffer.from(buf.subarray(Math.max(0, buf.length - 12))).toString('latin1');
    return !tail.includes('IEND');
  }
  return null;
}

/**
 * Why a strict decode failed, in words that depend only on the file. sharp's
 * own message is kept when the file cannot be decoded at all (unsupported
 * format, empty …). When it decodes with warnings tolerated, its pixel data is
 * damaged: cut short (no end marker) or corrupt. libvips' text is not used
 * then: it comes from process-wide buffers that, with several images decoding
 * at once, can hold another file's message.
 */
async function decodeFailure(buf: Uint8Array, err: unknown): Promise<string> {
  const lenient = await decodeRaw(buf, 'none').then(
    () => true,
    () => false,
  );
  if (!lenient) return message(err).split('\n')[0]!;
  const early = endsEarly(buf);
  if (early === true) return `truncated: the file ends inside the image data, after ${buf.length} bytes`;
  return `corrupt image data: the decoder reports errors in the ${early === false ? 'pixel data' : 'file'}`;
}

/** Decodes an encoded image (JPEG, PNG, WebP, TIFF, GIF, AVIF, …) held in memory; `nameForErrors` prefixes error messages. */
export async function decodeImageBuffer(buf: Uint8Array, nameForErrors: string): Promise<RgbImage> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await decodeRaw(buf, 'warning');
  } catch (err) {
    throw new Error(`${nameForErrors}: cannot decode image (${await decodeFailure(buf, err)})`);
  }
  const { width, height, channels } = out.info;
  const src = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  if (channels === 3) return { data: src, width, height };
  // Defensive: libvips should always give 3 channels after toColourspace('srgb') and flatten.
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = src[i * channels + (channels >= 3 ? c : 0)]!;
  }
  return { data, width, height };
}

/** Reads and decodes an image file into 8-bit RGB (orientation applied, alpha flattened on black). */
export async function decodeImage(path: string): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if (isNotFound(err)) throw new Error(`${path}: image file not found`);
    throw new Error(`${path}: cannot read image file (${message(err)})`);
  }
  return decodeImageBuffer(buf, path);
}

/**
 * Width and height of an image file as displayed (EXIF orientation 5–8 swaps
 * them), from the header only — no pixel decoding.
 */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (err) {
    const msg = message(err);
    if (/Input file is missing/i.test(msg)) throw new Error(`${path}: image file not found`);
    throw new Error(`${path}: cannot decode image (${msg})`);
  }
  const { width, height, orientation } = meta;
  if (!(width && height)) throw new Error(`${path}: cannot decode image (no size in header)`);
  const swap = orientation !== undefined && orientation >= 5 && orientation <= 8;
  return swap ? { width: height, height: width } : { width, height };
}

function checkImage(img: RgbImage): void {
  if (!(Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0)) {
    throw new Error(`image size must be positive integers; got ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`RGB image data has ${img.data.length} bytes; expected ${img.width}×${img.height}×3 = ${img.width * img.height * 3}`);
  }
}

function fromRaw(img: RgbImage): sharp.Sharp {
  checkImage(img);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Lossless PNG of an RGB image. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return fromRaw(img).png().toBuffer();
}

/** JPEG of an RGB image (quality 1–100, default 90; 4:4:4 chroma above 90 as libvips does). */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  if (!(quality >= 1 && quality <= 100)) throw new Error(`JPEG quality must be in [1, 100]; got ${quality}`);
  return fromRaw(img)
    .jpeg({ quality: Math.round(quality) })
    .toBuffer();
}

/**
 * Writes an RGB image atomically; the format follows the extension
 * (.png, .jpg/.jpeg at quality 95, .webp lossless). Parent directories are created.
 */
export async function writeImage(path: string, img: RgbImage): Promise<void> {
  const ext = extname(path).toLowerCase();
  let buf: Buffer;
  if (ext === '.png') buf = await encodePng(img);
  else if (ext === '.jpg' || ext === '.jpeg') buf = await encodeJpeg(img, 95);
  else if (ext === '.webp') buf = await fromRaw(img).webp({ lossless: true }).toBuffer();
  else throw new Error(`${path}: unsupported image extension '${ext}' (use .png, .jpg, .jpeg or .webp)`);
  await writeFileAtomic(path, buf);
}
