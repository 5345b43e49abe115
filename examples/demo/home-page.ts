import { html, PAGE_CSS, trustedHtml } from 'nilva-session/admin';

/**
 * The demo's front page: what is running and how to talk to it. It is sent with the pages' own
 * security headers (`pageSecurityHeaders()`), so its only style is theirs, `PAGE_CSS`, which
 * their Content-Security-Policy allows by hash.
 */
export function renderHome(view: {
  /** Where this process listens, as a client reaches it: `http://127.0.0.1:4123`. */
  readonly url: string;
}): string {
  // The examples are copied into a shell, so they name the port this process really bound
  // (PORT=0 picks a free one), not the default.
  const { url } = view;
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>nilva-session demo</title>
<style>${trustedHtml(PAGE_CSS)}</style>
</head>
<body>
<header><span class="brand">nilva-session demo</span></header>
<main>
<div class="card">
<h1>nilva-session demo</h1>
<p>Listening on <a href="${url}/" data-demo-url><code>${url}</code></a>. Database-backed sessions with opaque tokens.
Users: <code>alice</code> / <code>alice-password</code>, <code>bob</code> / <code>bob-password</code>,
<code>admin</code> / <code>admin-password</code>.</p>
<p>In a browser: <a href="/login">sign in</a>, then see <a href="/devices">your devices</a>;
staff see the <a href="/admin">admin page</a>.</p>
<pre>TOKEN=$(curl -s -X POST ${url}/api/login -H 'content-type: application/json' \\
  -d '{"username":"alice","password":"alice-password"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
curl -s ${url}/api/active -H "Authorization: Token $TOKEN"
curl -s -X DELETE "${url}/api/active?token_id=SESSION_ID" -H "Authorization: Token $TOKEN"
curl -s -X POST ${url}/api/logout -H "Authorization: Token $TOKEN"</pre>
<ul>
<li><code>POST /api/login</code> — <code>{username, password}</code> → <code>{token, session_id, expire_at}</code></li>
<li><code>POST /api/logout</code> — ends the current session (204)</li>
<li><code>GET /api/active</code> — your active sessions, newest first</li>
<li><code>DELETE /api/active?token_id=…</code> — revoke sessions (no <code>token_id</code>: all of them)</li>
<li><code>POST /api/token</code> — <code>{username, password}</code> → a JWT pair <code>{refresh, access}</code> bound to a new session; then <code>Authorization: Bearer &lt;access&gt;</code></li>
<li><code>POST /api/token/refresh</code> — <code>{refresh}</code> → <code>{access}</code>; <code>POST /api/token/blacklist</code> — <code>{refresh}</code> ends that session</li>
<li><code>GET /api/me</code> — who you are</li>
<li><code>GET /api/openapi.json</code> — the OpenAPI 3.1 document of these routes</li>
<li><code>GET /healthz</code> — 200 once the database answers</li>
</ul>
</div>
</main>
</body>
</html>
`.toString();
}
