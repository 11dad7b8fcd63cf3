/**
 * The side panel of a result: latency, the image labels (present ones in
 * their class colour, then the next few below the threshold, dimmed), the
 * segmentation legend (share of the image per class) and the detections list.
 */
import type { DetectResult } from './detect.js';
import { classColor } from './draw.js';

/** Labels listed as present at or above this probability (as `yolor predict`). */
export const LABEL_THRESHOLD = 0.5;

export interface PanelElements {
  latency: HTMLElement;
  labelsBox: HTMLElement;
  labels: HTMLElement;
  segmentBox: HTMLElement;
  segment: HTMLElement;
  overlayLabel: HTMLElement;
  list: HTMLElement;
}

function item(text: string, color?: string, dim = false): HTMLLIElement {
  const li = document.createElement('li');
  li.textContent = text;
  if (color) li.style.color = color;
  if (dim) li.className = 'dim';
  return li;
}

/** Fills the panel with `r`; `nc` tells detection-class labels (coloured) from attributes. */
export function showResult(ui: PanelElements, r: DetectResult, nc: number): void {
  const f = (v: number): string => v.toFixed(1);
  const { ms } = r;
  ui.latency.textContent = `latency: ${f(ms.total)} ms (preprocess ${f(ms.preprocess)}, inference ${f(ms.inference)}, postprocess ${f(ms.postprocess)})`;
  const dets = r.detections;
  ui.list.replaceChildren(
    ...dets.slice(0, 100).map((d) => item(`${d.name} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(0)).join(', ')}]`, classColor(d.cls))),
  );
  if (dets.length > 100) ui.list.append(item(`… ${dets.length - 100} more`));
  ui.labelsBox.hidden = r.labels === null;
  if (r.labels) {
    const present = r.labels.filter((l) => l.score >= LABEL_THRESHOLD);
    const rest = r.labels.filter((l) => l.score < LABEL_THRESHOLD).slice(0, Math.max(0, 5 - present.length));
    ui.labels.replaceChildren(
      ...present.map((l) => item(`${l.name} ${l.score.toFixed(2)}`, l.index < nc ? classColor(l.index) : undefined)),
      ...rest.map((l) => item(`${l.name} ${l.score.toFixed(2)}`, undefined, true)),
    );
  }
  ui.segmentBox.hidden = r.segment === null;
  ui.overlayLabel.hidden = r.segment === null;
  if (r.segment) {
    ui.segment.replaceChildren(
      ...r.segment.map((c) => item(`${c.name} ${(c.share * 100).toFixed(1)} %`, c.index > 0 ? classColor(c.index - 1) : undefined, c.index === 0)),
    );
  }
}
