import type { SessionRecord } from '../core/session.js';
import type { AdminSortKey, AdminStatusFilter, SortOrder } from '../core/session-admin-store.js';
import { userAgentData } from '../useragent/user-agent-data.js';
import { barChart, type ChartItem, columnChart } from './charts.js';
import { deviceLabel, ipAddress, timeAgo } from './devices-view.js';
import { html, type SafeHtml } from './html.js';
import { type LayoutContext, layout } from './page-layout.js';
import { exactTime } from './relative-time.js';

/** The admin list's filters and sort, as the form shows them. */
export interface AdminListState {
  readonly status: AdminStatusFilter;
  readonly user: string;
  readonly ip: string;
  readonly sort: AdminSortKey;
  readonly order: SortOrder;
}

/** What the list page shows. */
export interface AdminListView {
  readonly state: AdminListState;
  readonly sessions: readonly SessionRecord[];
  readonly now: Date;
  /** Links to the neighbouring pages, when there are any. */
  readonly previous: string | undefined;
  readonly next: string | undefined;
  /** The URL of this list page, to come back to after an action. */
  readonly self: string;
  /** `href` of the list with other query values. */
  readonly link: (changes: Partial<AdminListState>) => string;
  readonly flash?: string | undefined;
  readonly error?: string | undefined;
}

const STATUS_LABELS: ReadonlyArray<readonly [AdminStatusFilter, string]> = [
  ['all', 'All'],
  ['active', 'Active'],
  ['inactive', 'Inactive'],
  ['expired', 'Expired'],
];
const SORT_LABELS: ReadonlyArray<readonly [AdminSortKey, string]> = [
  ['created_at', 'Created at'],
  ['last_online', 'Last online'],
  ['expire_at', 'Expire at'],
];

function option<T extends string>(value: T, label: string, selected: T): SafeHtml {
  return html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
}

function activeTag(active: boolean): SafeHtml {
  return active ? html`<span class="tag on">active</span>` : html`<span class="tag off">inactive</span>`;
}

function expiry(expireAt: Date | null, now: Date): SafeHtml {
  return expireAt === null ? html`<span class="muted">never</span>` : timeAgo(expireAt, now);
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The key prefix as shown: the stored first characters, never more of the token. */
function keyPrefix(prefix: string): string {
  return `${prefix}…`;
}

/** The admin list: filters, sortable columns, bulk actions, keyset pager. */
export function renderAdminList(context: LayoutContext, view: AdminListView): string {
  const admin = context.paths.admin as string;
  const { state, now } = view;
  const sortHeader = (key: AdminSortKey, label: string): SafeHtml => {
    const active = state.sort === key;
    const order: SortOrder = active && state.order === 'desc' ? 'asc' : 'desc';
    const arrow = active ? (state.order === 'desc' ? ' ↓' : ' ↑') : '';
    return html`<th><a href="${view.link({ sort: key, order })}">${label}${arrow}</a></th>`;
  };
  const rows = view.sessions.map((s) => {
    const ua = userAgentData(s.userAgent);
    return html`<tr data-session-id="${s.id}">
<td class="lead"><input type="checkbox" name="id" value="${s.id}" form="bulk" aria-label="${`Select session ${s.id}`}"></td>
<td class="mono head"><a href="${`${admin}/sessions/${s.id}`}" title="${s.id}">${s.id.slice(0, 8)}</a></td>
<td class="mono" data-label="Key">${keyPrefix(s.keyPrefix)}</td>
<td class="mono" data-label="User">${String(s.userId)}</td>
<td class="mono" data-label="IP">${ipAddress(s.lastIp)}</td>
<td data-label="Device"><span>${ua.browser} on ${ua.os}<br><span class="muted">${deviceLabel(ua)}</span></span></td>
<td data-label="Expire at">${expiry(s.expireAt, now)}</td>
<td class="trail">${activeTag(s.isActive)}</td>
<td${s.detail === null ? html` class="empty"` : html` data-label="Detail"`}>${s.detail === null ? '' : html`<span title="${s.detail}">${shorten(s.detail, 48)}</span>`}</td>
<td data-label="Last online">${timeAgo(s.lastOnline, now)}</td>
<td data-label="Created at">${timeAgo(s.createdAt, now)}</td>
</tr>`;
  });
  const body = html`<h1>Sessions</h1>
<form method="get" action="${admin}" class="filters">
<label>Status<select name="status">${STATUS_LABELS.map(([v, l]) => option(v, l, state.status))}</select></label>
<label>User id<input name="user" value="${state.user}" size="12" maxlength="191"></label>
<label class="wide">IP address or prefix<input name="ip" value="${state.ip}" size="18" maxlength="45" placeholder="203.0.113."></label>
<label>Sort by<select name="sort">${SORT_LABELS.map(([v, l]) => option(v, l, state.sort))}</select></label>
<label>Order<select name="order">${option('desc', 'Newest first', state.order)}${option('asc', 'Oldest first', state.order)}</select></label>
<button type="submit" class="primary">Apply</button>
<a class="button" href="${admin}">Reset</a>
</form>
<div class="actions">
<form method="post" action="${`${admin}/actions`}" id="bulk" class="actions bulk">
<input type="hidden" name="return_to" value="${view.self}">
<label>Action <select name="action"><option value="deactivate">Deactivate selected sessions</option><option value="delete">Delete selected sessions</option></select></label>
<button type="submit">Go</button>
</form>
${state.user === '' ? '' : userForm(admin, state.user, view.self)}
</div>
<table class="cards">
<thead><tr><th></th><th>Id</th><th>Key</th><th>User</th><th>IP</th><th>Device</th>${sortHeader('expire_at', 'Expire at')}<th>Status</th><th>Detail</th>${sortHeader('last_online', 'Last online')}${sortHeader('created_at', 'Created at')}</tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="11" class="muted">No sessions match.</td></tr>` : rows}</tbody>
</table>
<nav class="pager" aria-label="Pages">
${view.previous === undefined ? html`<span class="muted">← Previous</span>` : html`<a href="${view.previous}" rel="prev">← Previous</a>`}
${view.next === undefined ? html`<span class="muted">Next →</span>` : html`<a href="${view.next}" rel="next">Next →</a>`}
</nav>`;
  return layout(context, 'Sessions', body, { flash: view.flash, error: view.error });
}

/** "Deactivate every session of this user", through the bulk action endpoint. */
function userForm(admin: string, user: string, returnTo: string): SafeHtml {
  return html`<form method="post" action="${`${admin}/actions`}">
<input type="hidden" name="action" value="deactivate-user"><input type="hidden" name="user" value="${user}">
<input type="hidden" name="return_to" value="${returnTo}">
<button type="submit" class="danger">Deactivate all sessions of user ${user}</button>
</form>`;
}

/** The read-only detail of one session, with the form for its two editable fields. */
export function renderAdminDetail(
  context: LayoutContext,
  view: { readonly session: SessionRecord; readonly now: Date; readonly flash?: string | undefined; readonly error?: string | undefined },
): string {
  const admin = context.paths.admin as string;
  const { session: s, now } = view;
  const ua = userAgentData(s.userAgent);
  const at = (d: Date) => html`${exactTime(d)} <span class="muted">(${timeAgo(d, now)})</span>`;
  const body = html`<p><a href="${admin}">← Sessions</a></p>
<h1>Session <span class="mono">${s.id}</span></h1>
<div class="card">
<dl class="detail">
<dt>Id</dt><dd class="mono">${s.id}</dd>
<dt>User</dt><dd class="mono"><a href="${`${admin}?user=${encodeURIComponent(String(s.userId))}`}">${String(s.userId)}</a></dd>
<dt>Key prefix</dt><dd class="mono">${keyPrefix(s.keyPrefix)}</dd>
<dt>Status</dt><dd>${activeTag(s.isActive)}</dd>
<dt>Detail</dt><dd>${s.detail ?? html`<span class="muted">—</span>`}</dd>
<dt>Expire at</dt><dd>${s.expireAt === null ? html`<span class="muted">never</span>` : at(s.expireAt)}</dd>
<dt>Last online</dt><dd>${at(s.lastOnline)}</dd>
<dt>Created at</dt><dd>${at(s.createdAt)}</dd>
<dt>Last IP</dt><dd class="mono">${ipAddress(s.lastIp)}</dd>
<dt>Device</dt><dd>${ua.browser} on ${ua.os} · ${deviceLabel(ua)}</dd>
<dt>User agent</dt><dd class="mono wrap">${s.userAgent === '' ? html`<span class="muted">(none)</span>` : s.userAgent}</dd>
<dt>Refresh rotation</dt><dd>${s.refreshJti === null ? 'no' : 'yes'}</dd>
</dl>
</div>
<h2>Change</h2>
<form method="post" action="${`${admin}/sessions/${s.id}`}" class="card stack">
<label>Status<select name="is_active">${option('true', 'Active', String(s.isActive))}${option('false', 'Inactive', String(s.isActive))}</select></label>
<label>Detail<textarea name="detail" maxlength="1000">${s.detail ?? ''}</textarea></label>
<div class="actions"><button type="submit" class="primary">Save</button><a class="button danger" href="${`${admin}/sessions/${s.id}/delete`}">Delete…</a></div>
</form>
<div class="actions">${userForm(admin, String(s.userId), `${admin}?user=${encodeURIComponent(String(s.userId))}`)}</div>`;
  return layout(context, `Session ${s.id.slice(0, 8)}`, body, { flash: view.flash, error: view.error });
}

/** Asks before deleting: lists the sessions and posts the same ids with `confirm=yes`. */
export function renderDeleteConfirm(
  context: LayoutContext,
  view: { readonly sessions: readonly SessionRecord[]; readonly returnTo: string },
): string {
  const admin = context.paths.admin as string;
  const body = html`<div class="card">
<h1>Delete ${view.sessions.length} session${view.sessions.length === 1 ? '' : 's'}?</h1>
<p>Deleted sessions are signed out at once and disappear from every list. This cannot be undone.</p>
<ul>${view.sessions.map((s) => html`<li class="mono">${s.id} <span class="muted">(user ${String(s.userId)})</span></li>`)}</ul>
<form method="post" action="${`${admin}/actions`}" class="actions">
<input type="hidden" name="action" value="delete"><input type="hidden" name="confirm" value="yes">
<input type="hidden" name="return_to" value="${view.returnTo}">
${view.sessions.map((s) => html`<input type="hidden" name="id" value="${s.id}">`)}
<button type="submit" class="danger">Yes, delete</button><a class="button" href="${view.returnTo}">Cancel</a>
</form>
</div>`;
  return layout(context, 'Delete sessions', body);
}

/** What the dashboard shows. */
export interface DashboardView {
  readonly activeNow: number;
  /** One entry per day of the window, oldest first, zeros included. */
  readonly loginsPerDay: readonly ChartItem[];
  readonly browsers: readonly ChartItem[];
  readonly systems: readonly ChartItem[];
  /** Active sessions whose agents were beyond the most common ones read. */
  readonly unclassified: number;
}

/** Active sessions now, logins per day, sessions by browser and by OS, as inline SVG. */
export function renderDashboard(context: LayoutContext, view: DashboardView): string {
  const total30 = view.loginsPerDay.reduce((sum, d) => sum + d.count, 0);
  const today = view.loginsPerDay.at(-1)?.count ?? 0;
  const body = html`<h1>Dashboard</h1>
<div class="stats">
<div class="card"><div class="muted">Active sessions now</div><div class="stat" data-stat="active-now">${view.activeNow.toLocaleString('en-US')}</div></div>
<div class="card"><div class="muted">Logins today (UTC)</div><div class="stat" data-stat="logins-today">${today.toLocaleString('en-US')}</div></div>
<div class="card"><div class="muted">Logins, last ${view.loginsPerDay.length} days</div><div class="stat" data-stat="logins-window">${total30.toLocaleString('en-US')}</div></div>
</div>
<div class="card"><h2>Logins per day</h2>${columnChart(view.loginsPerDay, { title: 'Logins per day', unit: 'logins' })}</div>
<div class="charts">
<div class="card"><h2>Active sessions by browser</h2>${barChart(view.browsers, { title: 'Active sessions by browser' })}</div>
<div class="card"><h2>Active sessions by operating system</h2>${barChart(view.systems, { title: 'Active sessions by operating system' })}</div>
</div>
${view.unclassified > 0 ? html`<p class="muted">${view.unclassified === 1 ? '1 active session uses a rarer user agent and is' : `${view.unclassified.toLocaleString('en-US')} active sessions use rarer user agents and are`} not in the two charts.</p>` : ''}`;
  return layout(context, 'Dashboard', body);
}
