import { createHash } from 'node:crypto';

/**
 * The pages' only style sheet, inlined in a `<style>` element and allowed by its hash in the
 * Content-Security-Policy (no `unsafe-inline`, no external asset, nothing to serve).
 */
export const PAGE_CSS = `
:root{--fg:#1d2330;--muted:#5d6675;--line:#dde1e7;--bg:#f6f7f9;--accent:#2456c8;--ok:#1f7a3e;--bad:#b3261e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;gap:1.2rem;padding:.7rem 1.5rem;background:#fff;border-bottom:1px solid var(--line)}
header .brand{font-weight:650}
header nav{display:flex;gap:1rem;flex:1}
header form{margin:0}
main{max-width:78rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.45rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .6rem}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
.muted{color:var(--muted)}
.flash{background:#e8f3ec;border:1px solid #b9dcc6;color:var(--ok);padding:.55rem .9rem;border-radius:6px;margin-bottom:1rem}
.error{background:#fbeaea;border:1px solid #f0c2bf;color:var(--bad);padding:.55rem .9rem;border-radius:6px;margin-bottom:1rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:#fafbfc}
tr:last-child td{border-bottom:0}
td.mono,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86rem}
.wrap{word-break:break-all}
.tag{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.78rem;border:1px solid var(--line)}
.tag.on{color:var(--ok);border-color:#b9dcc6;background:#e8f3ec}
.tag.off{color:var(--bad);border-color:#f0c2bf;background:#fbeaea}
.tag.current{color:var(--accent);border-color:#c3d3f5;background:#ebf1fd}
button,.button{font:inherit;padding:.38rem .8rem;border-radius:6px;border:1px solid var(--line);background:#fff;color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{color:var(--bad);border-color:#f0c2bf}
input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #c5cbd4;border-radius:6px;background:#fff}
textarea{width:100%;min-height:4.5rem}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted);gap:.2rem}
form.stack{display:flex;flex-direction:column;gap:.8rem;max-width:24rem}
.actions{display:flex;gap:.6rem;align-items:center;margin:.6rem 0}
.pager{display:flex;gap:1rem;justify-content:flex-end;margin-top:.8rem}
.stats{display:flex;gap:1rem;flex-wrap:wrap}
.stat{font-size:2rem;font-weight:650}
dl.detail{display:grid;grid-template-columns:11rem 1fr;gap:.45rem 1rem;margin:0}
dl.detail dt{color:var(--muted)}
dl.detail dd{margin:0}
svg text{font:11px system-ui,sans-serif;fill:#5d6675}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem}
`;

/** The `style-src` source of {@link PAGE_CSS}: `'sha256-…'`. */
export const PAGE_CSS_HASH = `'sha256-${createHash('sha256').update(PAGE_CSS).digest('base64')}'`;

/**
 * The pages' Content-Security-Policy: nothing may load or run but the one hashed style element;
 * forms post only to this origin; no page may frame these.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${PAGE_CSS_HASH}`,
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
