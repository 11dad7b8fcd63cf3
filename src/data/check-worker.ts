/**
 * Image-check worker: fully decodes image files (the loader's own `decodeImage`,
 * strict about truncated and corrupt data) and answers each file's verdict —
 * its size as displayed, or the problem. Only the verdicts travel back, never
 * pixels. The same functions run on the main thread when there are no workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeImage } from './image-io.js';

/** One image file's verdict: its size as displayed (EXIF orientation applied), or what is wrong with it. */
export type ImageVerdict = { width: number; height: number } | { problem: string };

export interface CheckWorkerInit {
  kind: 'image-check';
}

export interface CheckRequest {
  id: number;
  files: string[];
}

export interface CheckReply {
  id: number;
  verdicts: ImageVerdict[];
}

/** Decodes one file completely; never throws (the problem is in the verdict, without the file-name prefix). */
export async function checkImageFile(file: string): Promise<ImageVerdict> {
  try {
    const img = await decodeImage(file);
    return { width: img.width, height: img.height };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { problem: msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg };
  }
}

if (parentPort && (workerData as Partial<CheckWorkerInit> | undefined)?.kind === 'image-check') {
  const port = parentPort;
  port.on('message', (req: CheckRequest) => {
    // checkImageFile never rejects: one reply per request, always.
    void Promise.all(req.files.map(checkImageFile)).then((verdicts) => port.postMessage({ id: req.id, verdicts } satisfies CheckReply));
  });
}
