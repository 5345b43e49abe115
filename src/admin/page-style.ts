import { createHash } from 'node:crypto';

/**
 * The pages' only style sheet, inlined in a `<style>` element and allowed by its hash in the
 * Content-Security-Policy (no `unsafe-inline`, no external asset, nothing to serve). An
 * application page sent with `pageSecurityHeaders()` may inline it too, unchanged.
 */
export const PAGE_CSS = `
:root{--fg:#1d2330;--muted:#5d6675;--line:#dde1e7;--bg:#f6f7f9;--accent:#2456c8;--ok:#1f7a3e;--bad:#b3261e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.2rem;padding:.7rem 1.5rem;background:#fff;border-bottom:1px solid var(--line)}
header .brand{font-weight:650}
header nav{display:flex;flex-wrap:wrap;gap:.3rem 1rem;flex:1}
header form{margin:0}
main{max-width:78rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.45rem;margin:0 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.5rem 0 .6rem}
.card>h1:first-child,.card>h2:first-child{margin-top:0}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem;min-width:0}
.muted{color:var(--muted)}
.flash{background:#e8f3ec;border:1px solid #b9dcc6;color:var(--ok);padding:.55rem .9rem;border-radius:6px;margin-bottom:1rem}
.error{background:#fbeaea;border:1px solid #f0c2bf;color:var(--bad);padding:.55rem .9rem;border-radius:6px;margin-bottom:1rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:#fafbfc}
tr:last-child td{border-bottom:0}
td.mono,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86rem}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.8rem;overflow:auto}
.wrap{word-break:break-all}
.tag{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.78rem;border:1px solid var(--line);white-space:nowrap}
.tag.on{color:var(--ok);border-color:#b9dcc6;background:#e8f3ec}
.tag.off{color:var(--bad);border-color:#f0c2bf;background:#fbeaea}
.tag.current{color:var(--accent);border-color:#c3d3f5;background:#ebf1fd}
button,.button{font:inherit;padding:.38rem .8rem;border-radius:6px;border:1px solid var(--line);background:#fff;color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger,.button.danger{color:var(--bad);border-color:#f0c2bf}
input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #c5cbd4;border-radius:6px;background:#fff;max-width:100%}
textarea{width:100%;min-height:4.5rem}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted);gap:.2rem}
form.stack{display:flex;flex-direction:column;gap:.8rem;max-width:24rem}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;margin:.6rem 0}
.actions label{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;max-width:100%}
.pager{display:flex;gap:1rem;justify-content:flex-end;margin-top:.8rem}
.stats{display:flex;gap:1rem;flex-wrap:wrap}
.stat{font-size:2rem;font-weight:650}
dl.detail{display:grid;grid-template-columns:11rem minmax(0,1fr);gap:.45rem 1rem;margin:0}
dl.detail dt{color:var(--muted)}
dl.detail dd{margin:0;min-width:0;overflow-wrap:anywhere}
li{overflow-wrap:anywhere}
svg{display:block;overflow:visible}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#5d6675}
svg text.value{font-size:13px;fill:var(--fg)}
svg text.tick{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(22rem,100%),1fr));gap:0 1rem}
@media (max-width:60rem){
main{margin:1rem auto;padding:0 1rem}
header{padding:.6rem 1rem}
header .brand{flex:1}
header nav{order:1;flex-basis:100%}
table.cards,table.cards tbody,table.cards td{display:block;border:0}
table.cards{background:none}
table.cards thead{display:none}
table.cards tbody{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(20rem,100%),1fr));gap:.8rem}
table.cards tr{display:flex;flex-wrap:wrap;align-items:center;align-content:flex-start;background:#fff;border:1px solid var(--line);border-radius:8px;padding:.5rem .8rem;min-width:0}
table.cards td{flex:1 1 100%;order:2;min-width:0;padding:.3rem 0;overflow-wrap:anywhere}
table.cards td[data-label]{display:grid;grid-template-columns:6.5rem minmax(0,1fr);gap:.8rem;align-items:baseline;border-top:1px solid var(--line)}
table.cards td[data-label]::before{content:attr(data-label);color:var(--muted);font:.8rem system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
table.cards td.head{order:1;flex:1 1 auto;padding-bottom:.5rem}
table.cards td.lead,table.cards td.trail{order:1;flex:0 0 auto;padding:.3rem .6rem .5rem 0}
table.cards td.trail{padding-right:0}
table.cards td.empty{display:none}
table.cards td.row-actions{padding-top:.6rem;border-top:1px solid var(--line)}
table.cards td.row-actions:empty{display:none}
form.filters{display:grid;grid-template-columns:1fr 1fr;align-items:end}
form.filters label.wide{grid-column:1/-1}
form.filters input,form.filters select{width:100%}
form.filters .button{text-align:center}
dl.detail{grid-template-columns:minmax(0,1fr);gap:0}
dl.detail dt{font-size:.8rem;margin-top:.7rem}
dl.detail dt:first-child{margin-top:0}
.stats{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:.6rem;margin-bottom:1rem}
.stats .card{margin:0;padding:.7rem .8rem}
.stats .muted{font-size:.8rem}
.stat{font-size:1.6rem}
.pager{justify-content:space-between}
form.bulk{flex:1 1 100%;flex-wrap:nowrap}
form.bulk label{flex:1 1 auto;flex-wrap:nowrap;min-width:0}
form.bulk select{flex:1 1 auto;min-width:0;width:0}
.narrow-hidden{display:none}
}
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
