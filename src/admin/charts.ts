import { html, type SafeHtml } from './html.js';

/** One bar of a chart. */
export interface ChartItem {
  readonly label: string;
  readonly count: number;
}

const ACCENT = '#2456c8';
const GRID = '#dde1e7';

function niceMax(max: number): number {
  if (max <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

/**
 * A column chart as inline SVG (no script, no external asset): one column per item, the
 * first, middle and last labels under the axis, each column's exact value in its `<title>`.
 */
export function columnChart(items: readonly ChartItem[], options: { readonly title: string; readonly unit: string }): SafeHtml {
  const width = 1000;
  const height = 240;
  const left = 36;
  const bottom = 28;
  const top = 12;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => i.count)));
  const slot = items.length === 0 ? plotW : plotW / items.length;
  const barW = Math.max(1, slot * 0.72);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const labelled = new Set([0, Math.floor((items.length - 1) / 2), items.length - 1]);
  return html`<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${options.title}" xmlns="http://www.w3.org/2000/svg">
<title>${options.title}</title>
${ticks.map(
  (t) =>
    html`<line x1="${left}" x2="${width - 8}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${GRID}"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${formatCount(t)}</text>`,
)}
${items.map((item, i) => {
  const x = left + i * slot + (slot - barW) / 2;
  const h = (item.count / max) * plotH;
  return html`<rect x="${x.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${ACCENT}" rx="1.5"><title>${item.label}: ${item.count} ${options.unit}</title></rect>${
    labelled.has(i)
      ? html`<text x="${(x + barW / 2).toFixed(1)}" y="${height - 8}" text-anchor="${i === 0 ? 'start' : i === items.length - 1 ? 'end' : 'middle'}">${item.label}</text>`
      : ''
  }`;
})}
</svg>`;
}

/** A horizontal bar chart as inline SVG: label, bar, count; the largest item fills the width. */
export function barChart(items: readonly ChartItem[], options: { readonly title: string }): SafeHtml {
  const row = 26;
  const width = 520;
  const labelW = 150;
  const countW = 56;
  const height = Math.max(row, items.length * row) + 8;
  const max = Math.max(1, ...items.map((i) => i.count));
  const plotW = width - labelW - countW;
  return html`<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${options.title}" xmlns="http://www.w3.org/2000/svg">
<title>${options.title}</title>
${
  items.length === 0
    ? html`<text x="0" y="18">No active sessions.</text>`
    : items.map((item, i) => {
        const y = 4 + i * row;
        const w = Math.max(2, (item.count / max) * plotW);
        return html`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${truncate(item.label, 22)}</text><rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${row - 9}" fill="${ACCENT}" rx="2"><title>${item.label}: ${item.count}</title></rect><text x="${(labelW + w + 6).toFixed(1)}" y="${y + 16}">${formatCount(item.count)}</text>`;
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
