/** The image files a path names: one image, or a folder's images (sorted), with errors naming the path. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

/** The image files of a file or a directory (sorted); errors name the path. */
export function listImages(source: string): string[] {
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`${source}: no such file or directory`);
  if (statSync(path).isFile()) return [path];
  const files = readdirSync(path)
    .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new Error(`${source}: no images (${IMAGE_EXTENSIONS.join(', ')}) in this directory`);
  return files;
}
