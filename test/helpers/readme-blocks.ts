// Code blocks of a Markdown file, with where they start, for tests that treat the README as code.

/** A fenced code block. */
export interface Fence {
  /** The info string after the opening fence: `ts fragment`, `json tsconfig.json`, `sh`, … */
  readonly info: string;
  /** Its first word: `ts`, `json`, `sh`, … (empty for a bare fence). */
  readonly lang: string;
  /** The words after the first. */
  readonly words: readonly string[];
  /** 1-based line of the opening fence. */
  readonly fenceLine: number;
  /** 1-based line of the first line of content. */
  readonly firstLine: number;
  /** The content, each line ending in a newline. */
  readonly content: string;
  /** The line right before the opening fence ('' at the top of the file). */
  readonly lineBefore: string;
}

/** Every fenced block (``` or ~~~, at the start of a line) of `markdown`, in order. */
export function parseFences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const fences: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})(.*)$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const marker = open[1] ?? '```';
    const info = (open[2] ?? '').trim();
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').startsWith(marker)) body.push(lines[j++] ?? '');
    if (j >= lines.length) throw new Error(`line ${i + 1}: the code block opened here is never closed`);
    const [lang = '', ...words] = info.split(/\s+/).filter((word) => word !== '');
    fences.push({
      info,
      lang,
      words,
      fenceLine: i + 1,
      firstLine: i + 2,
      content: body.map((line) => `${line}\n`).join(''),
      lineBefore: i === 0 ? '' : (lines[i - 1] ?? ''),
    });
    i = j;
  }
  return fences;
}

/**
 * The text of the section under the heading `heading` (e.g. `## Install`), up to the next
 * heading of the same or a higher level; throws when there is no such heading.
 */
export function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading ${JSON.stringify(heading)}`);
  let end = start + 1;
  let inFence = false;
  for (; end < lines.length; end++) {
    const line = lines[end] ?? '';
    if (/^(`{3,}|~{3,})/.test(line)) inFence = !inFence;
    const match = /^(#+) /.exec(line);
    if (!inFence && match?.[1] !== undefined && match[1].length <= level) break;
  }
  return lines.slice(start, end).join('\n');
}

/** The body rows of the Markdown tables in `markdown` (header and separator rows left out), as cell texts. */
export function tableRows(markdown: string): string[][] {
  const rows = markdown
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, line.endsWith('|') ? -1 : undefined)
        .split('|')
        .map((cell) => cell.trim()),
    );
  const separator = (cells: readonly string[] | undefined) => cells?.every((cell) => /^:?-+:?$/.test(cell)) === true;
  return rows.filter((cells, index) => !separator(cells) && !separator(rows[index + 1]));
}
