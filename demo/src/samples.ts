/**
 * The sample images `yolor serve-demo` puts next to the page
 * (`./samples/samples.json`, see src/export/demo/samples.ts): a few images of
 * the model's own validation data, shown as a strip of thumbnails. Loading
 * never fails: a missing or unreadable list is an empty one with a note.
 */

export interface SampleImage {
  /** File name under ./samples/. */
  file: string;
  /** The original file name, for display. */
  name: string;
  width: number;
  height: number;
  url: string;
}

export interface SampleList {
  source: string | null;
  images: SampleImage[];
  /** Why there are no images. */
  note: string | null;
}

export async function loadSamples(): Promise<SampleList> {
  const url = new URL('./samples/samples.json', document.baseURI).href;
  try {
    const res = await fetch(url);
    if (!res.ok) return { source: null, images: [], note: `no sample list (${url}: HTTP ${res.status})` };
    const raw = (await res.json()) as { source?: unknown; images?: unknown; note?: unknown };
    const images = (Array.isArray(raw.images) ? raw.images : [])
      .filter(
        (i): i is { file: string; name?: unknown; width?: unknown; height?: unknown } =>
          typeof i === 'object' && i !== null && typeof (i as { file?: unknown }).file === 'string',
      )
      .map((i) => ({
        file: i.file,
        name: typeof i.name === 'string' ? i.name : i.file,
        width: Number(i.width) || 0,
        height: Number(i.height) || 0,
        url: new URL(`./samples/${encodeURIComponent(i.file)}`, document.baseURI).href,
      }));
    const note = images.length ? null : typeof raw.note === 'string' ? raw.note : 'the sample list is empty';
    return { source: typeof raw.source === 'string' ? raw.source : null, images, note };
  } catch (err) {
    return { source: null, images: [], note: `no sample list (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Fills `strip` with one thumbnail button per sample; returns a function that marks the active one (−1: none). */
export function renderStrip(strip: HTMLElement, list: SampleList, onPick: (index: number) => void): (active: number) => void {
  const buttons = list.images.map((img, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'thumb';
    b.title = `${img.name} (${img.width}×${img.height})`;
    const t = document.createElement('img');
    t.src = img.url;
    t.alt = img.name;
    t.decoding = 'async';
    b.append(t);
    b.addEventListener('click', () => onPick(i));
    return b;
  });
  strip.replaceChildren(...buttons);
  strip.hidden = buttons.length === 0;
  return (active) =>
    buttons.forEach((b, i) => {
      b.classList.toggle('active', i === active);
    });
}
