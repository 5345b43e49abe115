import { html, type SafeHtml, trustedHtml } from './html.js';
import { CONTENT_SECURITY_POLICY, PAGE_CSS } from './page-style.js';

/** Where the pages live. */
export interface PagePaths {
  readonly login: string;
  readonly logout: string;
  readonly devices: string;
  /** `undefined` when the admin pages are off. */
  readonly admin: string | undefined;
}

/** Who is looking at the page. */
export interface Viewer {
  readonly name: string;
  readonly staff: boolean;
}

/** What every page needs from the handler. */
export interface LayoutContext {
  readonly appTitle: string;
  readonly paths: PagePaths;
  readonly viewer: Viewer | undefined;
}

/**
 * The security headers every page is sent with: the strict Content-Security-Policy (no script,
 * no framing, only the pages' own hashed style sheet, {@link PAGE_CSS}), `nosniff`, `DENY`
 * framing, a same-origin referrer, and no caching. An application's own HTML page can send the
 * same set; its inline style must then be exactly `PAGE_CSS`, or the browser drops it.
 *
 * @example
 * reply.headers(pageSecurityHeaders()).type('text/html; charset=utf-8').send(page);
 */
export function pageSecurityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}

/** Headers of every HTML response: the content type, then {@link pageSecurityHeaders}. */
export function pageHeaders(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { 'content-type': 'text/html; charset=utf-8', ...pageSecurityHeaders(), ...extra };
}

/** A whole HTML document: header with navigation and sign-out, then `body`. */
export function layout(
  context: LayoutContext,
  title: string,
  body: SafeHtml,
  notice?: { readonly flash?: string | undefined; readonly error?: string | undefined },
): string {
  const { paths, viewer } = context;
  const nav =
    viewer === undefined
      ? html``
      : html`<nav><a href="${paths.devices}">Your devices</a>${
          viewer.staff && paths.admin !== undefined
            ? html`<a href="${paths.admin}">Sessions</a><a href="${`${paths.admin}/dashboard`}">Dashboard</a>`
            : ''
        }</nav>
<span class="muted"><span class="narrow-hidden">Signed in as </span><strong>${viewer.name}</strong></span>
<form method="post" action="${paths.logout}"><button type="submit">Sign out</button></form>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · ${context.appTitle}</title>
<style>${trustedHtml(PAGE_CSS) /* constant; its hash is in the CSP */}</style>
</head>
<body>
<header><span class="brand">${context.appTitle}</span>${nav}</header>
<main>
${notice?.flash === undefined ? '' : html`<p class="flash" role="status">${notice.flash}</p>`}
${notice?.error === undefined ? '' : html`<p class="error" role="alert">${notice.error}</p>`}
${body}
</main>
</body>
</html>
`.toString();
}
