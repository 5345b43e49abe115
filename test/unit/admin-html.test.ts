import { describe, expect, test } from 'vitest';
import { escapeHtml, html, SafeHtml, trustedHtml } from '../../src/admin/html.js';

describe('escapeHtml', () => {
  test('escapes the characters that can open a tag, end an attribute or start an entity', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;',
    );
  });

  test('leaves other text, including non-ASCII, as it is', () => {
    expect(escapeHtml('Zoë 🦊 中文 1.2.3.4')).toBe('Zoë 🦊 中文 1.2.3.4');
  });
});

describe('html', () => {
  test('escapes every interpolated value, in text and in attributes', () => {
    const ua = '"><script>alert(1)</script>';
    expect(html`<td title="${ua}">${ua}</td>`.toString()).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>',
    );
  });

  test('inserts html fragments as they are, so nesting escapes exactly once', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}</p>`.toString()).toBe('<p><b>&lt;i&gt;</b></p>');
  });

  test('renders arrays item by item, and null, undefined and false as nothing', () => {
    expect(html`<ul>${['<a>', html`<li>ok</li>`, null, undefined, false]}</ul>`.toString()).toBe('<ul>&lt;a&gt;<li>ok</li></ul>');
  });

  test('renders numbers and zero', () => {
    expect(html`${0} ${42}`.toString()).toBe('0 42');
  });

  test('a plain object whose toString returns markup is still escaped', () => {
    const sneaky = { toString: () => '<script>' };
    expect(html`${sneaky}`.toString()).toBe('&lt;script&gt;');
  });

  test('only trustedHtml marks a string as HTML', () => {
    expect(trustedHtml('<hr>')).toBeInstanceOf(SafeHtml);
    expect(html`${trustedHtml('<hr>')}`.toString()).toBe('<hr>');
  });
});
