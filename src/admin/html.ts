/**
 * A fragment of HTML that is safe to insert as is: built by {@link html} (which escaped every
 * value in it) or marked with {@link trustedHtml}. Plain strings are never trusted.
 */
export class SafeHtml {
  readonly #text: string;

  /** Use {@link html} or {@link trustedHtml}; the constructor does not escape. */
  private constructor(text: string) {
    this.#text = text;
  }

  /** @internal */
  static of(text: string): SafeHtml {
    return new SafeHtml(text);
  }

  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes text for an HTML text node or a quoted attribute value: `& < > " ' \``.
 *
 * @example escapeHtml('<script>') // '&lt;script&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.toString();
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * The only way the pages build HTML: a tagged template that escapes every interpolated value,
 * unless it is a {@link SafeHtml} (another `html` fragment, or {@link trustedHtml}). Arrays are
 * rendered item by item; `null`, `undefined` and `false` render nothing. Attribute values must
 * be quoted in the template.
 *
 * @example html`<td title="${iso}">${userAgent}</td>` // both escaped
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return SafeHtml.of(out);
}

/**
 * Marks a string the code itself wrote (never one that contains input) as HTML. Every use is a
 * place to review.
 */
export function trustedHtml(text: string): SafeHtml {
  return SafeHtml.of(text);
}
