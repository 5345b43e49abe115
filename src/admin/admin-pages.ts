import { isIP } from 'node:net';
import type { SessionRecord, UserId } from '../core/session.js';
import type { AdminListQuery, AdminSortKey, AdminStatusFilter, SessionAdminStore } from '../core/session-admin-store.js';
import { normalizeIp } from '../lib/ip.js';
import { userAgentData } from '../useragent/user-agent-data.js';
import { decodeAdminCursor, encodeAdminCursor } from './admin-cursor.js';
import type { AdminService } from './admin-service.js';
import { type AdminListState, renderAdminDetail, renderAdminList, renderDashboard, renderDeleteConfirm } from './admin-views.js';
import type { ChartItem } from './charts.js';
import { fieldProblem } from './page-input.js';
import type { LayoutContext } from './page-layout.js';
import type { PageRequest, PageResponse } from './page-request.js';
import { htmlPage, readForm, redirect, sessionIdParam } from './page-responses.js';
import { renderMessage } from './simple-views.js';

/** Who is acting, and when. */
export interface AdminRequestContext {
  readonly layout: LayoutContext;
  readonly actor: UserId;
  readonly now: Date;
}

const STATUSES: readonly AdminStatusFilter[] = ['all', 'active', 'inactive', 'expired'];
const SORTS: readonly AdminSortKey[] = ['created_at', 'last_online', 'expire_at'];
const IP_PREFIX = /^[0-9a-fA-F:.]{1,45}$/;
const LIST_PARAMS = ['status', 'user', 'ip', 'sort', 'order', 'cursor'] as const;
const MAX_IDS = 1000;
const MAX_DETAIL = 1000;
const EDITABLE = new Set(['is_active', 'detail']);
const DAYS = 30;
const TOP_AGENTS = 200;
const CHART_ITEMS = 8;

const FLASH: Readonly<Record<string, (n: number) => string>> = {
  deactivated: (n) => `${n} session${n === 1 ? '' : 's'} deactivated.`,
  deleted: (n) => `${n} session${n === 1 ? '' : 's'} deleted.`,
  saved: () => 'Saved.',
};

/**
 * The staff pages below the admin mount: the session list (`GET /`), the dashboard, a
 * session's detail and edit form, and the bulk actions. Authentication, the staff check and
 * the same-origin check happen before (in `SessionPages`).
 */
export class AdminPages {
  readonly #root: string;
  readonly #store: SessionAdminStore;
  readonly #service: AdminService;
  readonly #pageSize: number;

  constructor(options: { root: string; adminStore: SessionAdminStore; service: AdminService; pageSize: number }) {
    this.#root = options.root;
    this.#store = options.adminStore;
    this.#service = options.service;
    this.#pageSize = options.pageSize;
  }

  /** Answers a request whose path is the admin root or below it. */
  async handle(req: PageRequest, context: AdminRequestContext): Promise<PageResponse> {
    const rest = req.path.slice(this.#root.length).replace(/\/+$/, '');
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (rest === '' && get) return this.#list(req, context);
    if (rest === '/dashboard' && get) return this.#dashboard(context);
    if (rest === '/actions' && req.method === 'POST') return this.#bulk(req, context);
    const match = /^\/sessions\/([^/]+)(\/delete)?$/.exec(rest);
    if (match !== null) {
      const id = sessionIdParam(decodeURIComponentSafe(match[1] ?? ''));
      const session = id === undefined ? undefined : await this.#store.findById(id);
      if (session === undefined) return htmlPage(404, renderMessage(context.layout, 'Not found', 'There is no such session.'));
      if (match[2] !== undefined && get)
        return htmlPage(200, renderDeleteConfirm(context.layout, { sessions: [session], returnTo: this.#root }));
      if (match[2] === undefined && get) return this.#detail(req, context, session);
      if (match[2] === undefined && req.method === 'POST') return this.#edit(req, context, session);
    }
    const known = rest === '' || rest === '/dashboard' || rest === '/actions' || match !== null;
    return known
      ? htmlPage(405, renderMessage(context.layout, 'Method not allowed', `${req.method.slice(0, 10)} is not allowed here.`))
      : htmlPage(404, renderMessage(context.layout, 'Not found', 'There is no such page.'));
  }

  async #list(req: PageRequest, context: AdminRequestContext): Promise<PageResponse> {
    const q = req.query;
    // Each of these reaches a query (or a link): a value no database can store is a 400 naming it.
    for (const name of LIST_PARAMS) {
      const value = q.get(name);
      const problem = value === null ? undefined : fieldProblem(name, value);
      if (problem !== undefined) return htmlPage(400, renderMessage(context.layout, 'Bad request', problem));
    }
    const state: AdminListState = {
      status: oneOf(q.get('status'), STATUSES, 'all'),
      user: (q.get('user') ?? '').trim().slice(0, 191),
      ip: (q.get('ip') ?? '').trim().slice(0, 45),
      sort: oneOf(q.get('sort'), SORTS, 'created_at'),
      order: oneOf(q.get('order'), ['asc', 'desc'] as const, 'desc'),
    };
    const link = (changes: Partial<AdminListState>, cursor?: string): string => this.#listUrl({ ...state, ...changes }, cursor);
    let error: string | undefined;
    let badIp = false;
    const query: { -readonly [K in keyof AdminListQuery]: AdminListQuery[K] } = {
      status: state.status,
      sort: state.sort,
      order: state.order,
      limit: this.#pageSize,
      now: context.now,
    };
    if (state.user !== '') query.userId = state.user;
    if (state.ip !== '') {
      if (isIP(state.ip) !== 0) query.ip = normalizeIp(state.ip);
      else if (IP_PREFIX.test(state.ip)) query.ipPrefix = state.ip.toLowerCase();
      else {
        badIp = true;
        error = 'Enter an IP address, or the start of one (such as 203.0.113.).';
      }
    }
    const cursorText = q.get('cursor');
    const cursor = cursorText === null ? undefined : decodeAdminCursor(cursorText, state.sort, state.order);
    if (cursorText !== null && cursor === undefined) error = 'That page link is not valid for this list; showing the first page.';
    if (cursor?.direction === 'after') query.after = cursor.keyset;
    if (cursor?.direction === 'before') query.before = cursor.keyset;
    const page = badIp ? { sessions: [], hasMore: false } : await this.#store.list(query);
    const keyset = (s: SessionRecord) => ({ value: sortValue(s, state.sort), id: s.id });
    const first = page.sessions[0];
    const last = page.sessions.at(-1);
    const cursorTo = (direction: 'after' | 'before', s: SessionRecord) =>
      link({}, encodeAdminCursor(state.sort, state.order, { direction, keyset: keyset(s) }));
    const backwards = cursor?.direction === 'before';
    const hasNext = backwards ? page.sessions.length > 0 : page.hasMore;
    const hasPrevious = backwards ? page.hasMore : cursor !== undefined && page.sessions.length > 0;
    return htmlPage(
      200,
      renderAdminList(context.layout, {
        state,
        sessions: page.sessions,
        now: context.now,
        next: hasNext && last !== undefined ? cursorTo('after', last) : undefined,
        previous: hasPrevious && first !== undefined ? cursorTo('before', first) : undefined,
        self: link({}, cursor === undefined ? undefined : (cursorText ?? undefined)),
        link: (changes) => link(changes),
        flash: flashOf(req.query),
        error: error ?? errorOf(req.query),
      }),
    );
  }

  #listUrl(state: AdminListState, cursor?: string): string {
    const params = new URLSearchParams();
    if (state.status !== 'all') params.set('status', state.status);
    if (state.user !== '') params.set('user', state.user);
    if (state.ip !== '') params.set('ip', state.ip);
    if (state.sort !== 'created_at') params.set('sort', state.sort);
    if (state.order !== 'desc') params.set('order', state.order);
    if (cursor !== undefined) params.set('cursor', cursor);
    const search = params.toString();
    return search === '' ? this.#root : `${this.#root}?${search}`;
  }

  #detail(req: PageRequest, context: AdminRequestContext, session: SessionRecord): PageResponse {
    return htmlPage(200, renderAdminDetail(context.layout, { session, now: context.now, flash: flashOf(req.query) }));
  }

  async #edit(req: PageRequest, context: AdminRequestContext, session: SessionRecord): Promise<PageResponse> {
    const form = readForm(req);
    const refuse = (message: string) => htmlPage(400, renderAdminDetail(context.layout, { session, now: context.now, error: message }));
    if (form === undefined) return refuse('Send the form as application/x-www-form-urlencoded.');
    // Only is_active and detail are editable; an attempt on any other field is refused whole.
    const foreign = [...new Set(form.keys())].filter((name) => !EDITABLE.has(name));
    if (foreign.length > 0) {
      return refuse(`These fields cannot be changed: ${foreign.slice(0, 5).join(', ').slice(0, 200)}. Only the status and the detail can.`);
    }
    const active = form.get('is_active');
    if (active !== 'true' && active !== 'false') return refuse('Status: choose active or inactive.');
    const detail = (form.get('detail') ?? '').replace(/\r\n/g, '\n').trim();
    // PostgreSQL cannot store NUL in text: refused here, never as a driver error.
    const problem = fieldProblem('detail', detail, MAX_DETAIL);
    if (problem !== undefined) return refuse(problem);
    await this.#service.edit(session.id, { isActive: active === 'true', detail: detail === '' ? null : detail }, context.actor);
    return redirect(`${this.#root}/sessions/${session.id}?done=saved`);
  }

  async #bulk(req: PageRequest, context: AdminRequestContext): Promise<PageResponse> {
    const form = readForm(req);
    if (form === undefined)
      return htmlPage(400, renderMessage(context.layout, 'Bad request', 'Send the form as application/x-www-form-urlencoded.'));
    const returnTo = this.#safeReturn(form.get('return_to'));
    const raw = form.getAll('id');
    if (raw.length > MAX_IDS) return htmlPage(400, renderMessage(context.layout, 'Bad request', `Select at most ${MAX_IDS} sessions.`));
    const ids = [...new Set(raw.map(sessionIdParam).filter((id): id is string => id !== undefined))];
    const back = (params: string) => redirect(`${returnTo}${returnTo.includes('?') ? '&' : '?'}${params}`);
    const action = form.get('action');
    if (action === 'deactivate-user') {
      const user = (form.get('user') ?? '').trim();
      const problem = user === '' ? 'User id: name a user id.' : fieldProblem('user', user);
      if (problem !== undefined) return htmlPage(400, renderMessage(context.layout, 'Bad request', problem));
      const n = await this.#service.deactivateUser(user, context.actor);
      return back(`done=deactivated&n=${n}`);
    }
    if (ids.length === 0) return back('done=none-selected');
    if (action === 'deactivate') {
      const n = await this.#service.deactivate(ids, context.actor);
      return back(`done=deactivated&n=${n}`);
    }
    if (action === 'delete') {
      if (form.get('confirm') !== 'yes') {
        const sessions: SessionRecord[] = [];
        for (const id of ids) {
          const found = await this.#store.findById(id);
          if (found !== undefined) sessions.push(found);
        }
        return htmlPage(200, renderDeleteConfirm(context.layout, { sessions, returnTo }));
      }
      const n = await this.#service.delete(ids, context.actor);
      return back(`done=deleted&n=${n}`);
    }
    return htmlPage(400, renderMessage(context.layout, 'Bad request', 'Choose an action: deactivate or delete.'));
  }

  /** `return_to` when it is a page of the admin list, else the list itself. */
  #safeReturn(value: string | null): string {
    if (value === null || value.length > 2000) return this.#root;
    // Printable ASCII only: it becomes a Location header, which takes nothing else.
    if (value === this.#root || (value.startsWith(`${this.#root}?`) && !/[^\x21-\x7e]|[\\#]/.test(value))) return value;
    return this.#root;
  }

  async #dashboard(context: AdminRequestContext): Promise<PageResponse> {
    const now = context.now;
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const since = new Date(today - (DAYS - 1) * 86_400_000);
    const until = new Date(today + 86_400_000);
    const [activeNow, daily, agents] = await Promise.all([
      this.#store.countActive(now),
      this.#store.loginsPerDay(since, until),
      this.#store.topUserAgents(now, TOP_AGENTS),
    ]);
    const byDay = new Map(daily.map((d) => [d.day, d.count]));
    const loginsPerDay: ChartItem[] = [];
    for (let i = 0; i < DAYS; i++) {
      const day = new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10);
      loginsPerDay.push({ label: day, count: byDay.get(day) ?? 0 });
    }
    const browsers = new Map<string, number>();
    const systems = new Map<string, number>();
    let classified = 0;
    for (const { userAgent, count } of agents) {
      const ua = userAgentData(userAgent);
      browsers.set(ua.browser, (browsers.get(ua.browser) ?? 0) + count);
      systems.set(ua.os, (systems.get(ua.os) ?? 0) + count);
      classified += count;
    }
    return htmlPage(
      200,
      renderDashboard(context.layout, {
        activeNow,
        loginsPerDay,
        browsers: topItems(browsers),
        systems: topItems(systems),
        unclassified: Math.max(0, activeNow - classified),
      }),
    );
  }
}

function sortValue(s: SessionRecord, sort: AdminSortKey): Date | null {
  return sort === 'created_at' ? s.createdAt : sort === 'last_online' ? s.lastOnline : s.expireAt;
}

/** The largest groups, the rest summed as "Others". */
function topItems(counts: ReadonlyMap<string, number>): ChartItem[] {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const items = sorted.slice(0, CHART_ITEMS).map(([label, count]) => ({ label, count }));
  const rest = sorted.slice(CHART_ITEMS).reduce((sum, [, count]) => sum + count, 0);
  if (rest > 0) items.push({ label: 'Others', count: rest });
  return items;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function flashOf(query: URLSearchParams): string | undefined {
  const done = query.get('done');
  const message = done === null ? undefined : FLASH[done];
  if (message === undefined) return undefined;
  const n = Number(query.get('n') ?? '1');
  return message(Number.isSafeInteger(n) && n >= 0 ? n : 0);
}

function errorOf(query: URLSearchParams): string | undefined {
  return query.get('done') === 'none-selected' ? 'Select at least one session first.' : undefined;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}
