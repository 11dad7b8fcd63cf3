/**
 * Images from outside the file picker: a file dropped anywhere on the page
 * (the drop zone is highlighted while dragging) or pasted from the clipboard
 * (Ctrl/Cmd-V). Other drops are refused with a message; pastes without an
 * image are left alone (text pasted into the threshold fields still works).
 */

export type ImageOrigin = 'drop' | 'paste';

export interface ImageInputHandlers {
  onImage(file: File, origin: ImageOrigin): void;
  onReject(message: string): void;
}

function firstImage(files: Iterable<File>): File | null {
  for (const f of files) if (f.type.startsWith('image/')) return f;
  return null;
}

/** Listens on `target` (usually document) for dropped and pasted images; `zone` gets the class `dragging` while a drag is over the page. */
export function acceptImageInput(target: Document, zone: HTMLElement, h: ImageInputHandlers): void {
  let depth = 0;
  const carriesFiles = (e: DragEvent): boolean => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
  target.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth++;
    zone.classList.add('dragging');
  });
  target.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    // Without this the browser would open the file instead of letting the page have it.
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  target.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  target.addEventListener('drop', (e) => {
    depth = 0;
    zone.classList.remove('dragging');
    if (!e.dataTransfer) return;
    e.preventDefault();
    const file = firstImage(Array.from(e.dataTransfer.files));
    if (file) h.onImage(file, 'drop');
    else h.onReject(e.dataTransfer.files.length ? `not an image: ${e.dataTransfer.files[0]!.name}` : 'drop an image file (PNG, JPEG, WebP…)');
  });
  target.addEventListener('paste', (e) => {
    const items = Array.from(e.clipboardData?.items ?? []);
    const file = firstImage(
      items
        .filter((i) => i.kind === 'file')
        .map((i) => i.getAsFile())
        .filter((f): f is File => f !== null),
    );
    if (!file) return;
    e.preventDefault();
    h.onImage(file, 'paste');
  });
}
