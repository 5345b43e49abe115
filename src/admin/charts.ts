import { html, type SafeHtml } from './html.js';

/** One bar of a chart. */
export interface ChartItem {
  readonly label: string;
  readonly count: number;
}

const ACCENT = '#2456c8';
const GRID = '#dde1e7';
const TRACK = '#eef1f5';

function niceMax(max: number): number {
  if (max <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

/** A percentage of the chart's width, as an SVG length. */
function pct(value: number): string {
  return `${value.toFixed(2)}%`;
}

/**
 * A column chart as inline SVG (no script, no external asset): one column per item, the
 * first, middle and last labels under the axis, each column's exact value in its `<title>`.
 *
 * Horizontal positions are percentages of the chart's width and the text is in pixels, so the
 * chart fills any width, a phone's or a desktop's, with text at its normal size (a scaled
 * `viewBox` would shrink the labels to nothing on a phone). The scale's numbers sit on their
 * grid lines at the left edge.
 */
export function columnChart(items: readonly ChartItem[], options: { readonly title: string; readonly unit: string }): SafeHtml {
  const height = 220;
  const bottom = 24;
  const top = 16;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => i.count)));
  const slot = items.length === 0 ? 100 : 100 / items.length;
  const barW = slot * 0.72;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const labelled = new Set([0, Math.floor((items.length - 1) / 2), items.length - 1]);
  return html`<svg width="100%" height="${height}" role="img" aria-label="${options.title}" xmlns="http://www.w3.org/2000/svg">
<title>${options.title}</title>
${ticks.map((t) => html`<line x1="0" x2="100%" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${GRID}"/>`)}
${items.map((item, i) => {
  const x = i * slot + (slot - barW) / 2;
  const h = (item.count / max) * plotH;
  return html`<rect x="${pct(x)}" y="${(top + plotH - h).toFixed(1)}" width="${pct(barW)}" height="${h.toFixed(1)}" fill="${ACCENT}" rx="1.5"><title>${item.label}: ${item.count} ${options.unit}</title></rect>${
    labelled.has(i)
      ? html`<text x="${pct(i === 0 ? x : i === items.length - 1 ? x + barW : x + barW / 2)}" y="${height - 6}" text-anchor="${i === 0 ? 'start' : i === items.length - 1 ? 'end' : 'middle'}">${item.label}</text>`
      : ''
  }`;
})}
${ticks.map((t) => html`<text class="tick" x="0" y="${(y(t) - 4).toFixed(1)}">${formatCount(t)}</text>`)}
</svg>`;
}

/**
 * A horizontal bar chart as inline SVG: per item its label and count on one line, the bar
 * under them on a light track; the largest item fills the width. Widths are percentages, text
 * is in pixels, as in {@link columnChart}.
 */
export function barChart(items: readonly ChartItem[], options: { readonly title: string }): SafeHtml {
  const row = 36;
  const height = Math.max(row, items.length * row) + 4;
  const max = Math.max(1, ...items.map((i) => i.count));
  return html`<svg width="100%" height="${height}" role="img" aria-label="${options.title}" xmlns="http://www.w3.org/2000/svg">
<title>${options.title}</title>
${
  items.length === 0
    ? html`<text x="0" y="18">No active sessions.</text>`
    : items.map((item, i) => {
        const y = i * row;
        const w = Math.max(0.5, (item.count / max) * 100);
        return html`<text class="value" x="0" y="${y + 13}">${truncate(item.label, 40)}</text><text class="value" x="100%" y="${y + 13}" text-anchor="end">${formatCount(item.count)}</text><rect x="0" y="${y + 19}" width="100%" height="10" fill="${TRACK}" rx="2"/><rect x="0" y="${y + 19}" width="${pct(w)}" height="10" fill="${ACCENT}" rx="2"><title>${item.label}: ${item.count}</title></rect>`;
      })
}
</svg>`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1);
}
