import { html } from './html.js';
import { type LayoutContext, layout } from './page-layout.js';

/** The sign-in form. `next` is where to go afterwards (already validated). */
export function renderLogin(
  context: LayoutContext,
  view: {
    readonly next: string;
    readonly username?: string | undefined;
    readonly error?: string | undefined;
    readonly flash?: string | undefined;
  },
): string {
  const body = html`<div class="card">
<h1>Sign in</h1>
<form method="post" action="${context.paths.login}" class="stack">
<input type="hidden" name="next" value="${view.next}">
<label>Username<input name="username" autocomplete="username" required value="${view.username ?? ''}" autofocus></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Sign in</button>
</form>
</div>`;
  return layout(context, 'Sign in', body, { error: view.error, flash: view.flash });
}

/**
 * "Confirm it's you": the password asked before a sensitive action (`action` is the form's
 * target, which performs it once the password is right) when the sign-in is too old.
 */
export function renderConfirmIdentity(
  context: LayoutContext,
  view: { readonly action: string; readonly what: string; readonly error?: string | undefined },
): string {
  const body = html`<div class="card">
<h1>Confirm it’s you</h1>
<p>To ${view.what}, enter your password again.</p>
<form method="post" action="${view.action}" class="stack">
<label>Username<input name="username" autocomplete="username" required autofocus></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Confirm</button>
</form>
</div>`;
  return layout(context, 'Confirm it’s you', body, { error: view.error });
}

/** A page that only says something: 400, 403, 404, 503, or "sign out?". */
export function renderMessage(context: LayoutContext, title: string, message: string): string {
  return layout(context, title, html`<div class="card"><h1>${title}</h1><p>${message}</p></div>`);
}

/** The confirmation asked before a sign-out by GET (a GET never changes anything). */
export function renderLogoutConfirm(context: LayoutContext): string {
  return layout(
    context,
    'Sign out',
    html`<div class="card"><h1>Sign out</h1><form method="post" action="${context.paths.logout}"><button type="submit" class="primary">Sign out of this device</button></form></div>`,
  );
}
