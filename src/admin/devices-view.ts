import type { SessionRecord } from '../core/session.js';
import { type UserAgentData, userAgentData } from '../useragent/user-agent-data.js';
import { html, type SafeHtml } from './html.js';
import { type LayoutContext, layout } from './page-layout.js';
import { exactTime, relativeTime } from './relative-time.js';

/** `3 minutes ago`, with the exact UTC time on hover and in `datetime`. */
export function timeAgo(date: Date, now: Date): SafeHtml {
  return html`<time datetime="${date.toISOString()}" title="${exactTime(date)}">${relativeTime(date, now)}</time>`;
}

/**
 * An IP address with a line-break opportunity after each colon, so that an IPv6 address wraps
 * between its groups in a narrow column rather than overflowing it; `—` when unknown.
 */
export function ipAddress(ip: string): SafeHtml {
  if (ip === '') return html`—`;
  const [first, ...rest] = ip.split(':');
  return html`${first}${rest.map((part) => html`:<wbr>${part}`)}`;
}

/** `Apple iPhone`, `Tablet`, `Phone`, or `Desktop or other` when the agent does not say. */
export function deviceLabel(ua: UserAgentData): string {
  const named = [ua.device_brand, ua.device_model].filter((part): part is string => part !== null && part !== '').join(' ');
  if (named !== '') return named;
  if (ua.is_tablet) return 'Tablet';
  if (ua.is_mobile) return 'Phone';
  return 'Desktop or other';
}

/** The "your devices" page: the signed-in user's active sessions, the current one marked. */
export function renderDevices(
  context: LayoutContext,
  view: {
    readonly sessions: readonly SessionRecord[];
    readonly currentId: string;
    readonly now: Date;
    readonly flash?: string | undefined;
  },
): string {
  const { sessions, currentId, now } = view;
  const devices = context.paths.devices;
  const rows = sessions.map((s) => {
    const ua = userAgentData(s.userAgent);
    const current = s.id === currentId;
    return html`<tr data-session-id="${s.id}">
<td class="head"><strong>${ua.browser}</strong> on ${ua.os}${current ? html` <span class="tag current">This device</span>` : ''}<br><span class="muted">${deviceLabel(ua)}</span></td>
<td class="mono" data-label="IP address">${ipAddress(s.lastIp)}</td>
<td data-label="Last online">${timeAgo(s.lastOnline, now)}</td>
<td data-label="Signed in">${timeAgo(s.createdAt, now)}</td>
<td class="row-actions">${
      current
        ? html`<span class="muted">Signed in here</span>`
        : html`<form method="post" action="${`${devices}/revoke`}"><input type="hidden" name="session_id" value="${s.id}"><button type="submit" class="danger">Revoke</button></form>`
    }</td>
</tr>`;
  });
  const others = sessions.filter((s) => s.id !== currentId).length;
  const body = html`<h1>Your devices</h1>
<p class="muted">Everywhere you are signed in. Revoke a device you do not recognise: its next request is refused.</p>
<table class="cards">
<thead><tr><th>Device</th><th>IP address</th><th>Last online</th><th>Signed in</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>
${
  others > 0
    ? html`<div class="actions"><form method="post" action="${`${devices}/revoke-others`}"><button type="submit" class="danger">Sign out all other devices (${others})</button></form></div>`
    : html`<p class="muted">No other device is signed in.</p>`
}`;
  return layout(context, 'Your devices', body, { flash: view.flash });
}
