// The wc/v3 read routes the connector (and the official client) use, with WordPress's parameter
// validation (rest_invalid_param bodies), WooCommerce's filters and defaults, and the paging
// headers every collection sends: X-WP-Total, X-WP-TotalPages and Link (rel prev/next).
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { invalidParam, wpError } from './errors.ts';
import type { CustomerRecord, OrderRecord, WooStore } from './store.ts';

const PREFIX = '/wp-json/wc/v3';
const ORDER_STATUSES = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed', 'trash', 'checkout-draft'];
const ROLES = ['all', 'administrator', 'editor', 'author', 'contributor', 'subscriber', 'customer', 'shop_manager'];
const STORE_DECIMALS = 2;

class ParamError extends Error {
  constructor(readonly reply: EmulatorReply) {
    super('invalid parameter');
  }
}

function intParam(req: EmulatorRequest, name: string, fallback: number, min: number, max?: number): number {
  const raw = req.query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ParamError(invalidParam(name, `${name} is not of type integer.`));
  const n = Number(raw);
  if (n < min || (max !== undefined && n > max)) {
    const message = max !== undefined ? `${name} must be between ${min} (inclusive) and ${max} (inclusive)` : `${name} must be greater than or equal to ${min}`;
    throw new ParamError(invalidParam(name, message, 'rest_out_of_bounds'));
  }
  return n;
}

function enumParam(req: EmulatorRequest, name: string, allowed: readonly string[], fallback: string): string {
  const v = req.query.get(name);
  if (v === null || v === '') return fallback;
  if (!allowed.includes(v)) throw new ParamError(invalidParam(name, `${name} is not one of ${allowed.join(', ')}.`, 'rest_not_in_enum'));
  return v;
}

/** WordPress list parameters: "1,2,3" or include[]=1&include[]=2. */
function idList(req: EmulatorRequest, name: string): number[] | null {
  const values = [...req.query.getAll(name), ...req.query.getAll(`${name}[]`)]
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0) return null;
  return values.map((v, i) => {
    if (!/^\d+$/.test(v)) throw new ParamError(invalidParam(name, `${name}[${i}] is not of type integer.`));
    return Number(v);
  });
}

function dateParam(req: EmulatorRequest, name: string, gmt: boolean): number | null {
  const v = req.query.get(name);
  if (v === null || v === '') return null;
  const ms = Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(v) ? v : `${v}${gmt ? 'Z' : '+01:00'}`);
  if (Number.isNaN(ms)) throw new ParamError(invalidParam(name, 'Invalid date.', 'rest_invalid_date'));
  return ms;
}

/** Paging as WordPress does it: offset wins over page; headers from the total. */
function paginate<T>(req: EmulatorRequest, all: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = intParam(req, 'per_page', 10, 1, 100);
  const page = intParam(req, 'page', 1, 1);
  const offsetRaw = req.query.get('offset');
  const offset = offsetRaw === null || offsetRaw === '' ? (page - 1) * perPage : intParam(req, 'offset', 0, 0);
  const total = all.length;
  const totalPages = Math.ceil(total / perPage);
  const currentPage = Math.floor(offset / perPage) + 1;
  const base = new URL(`http://${req.headers.host ?? '127.0.0.1'}${req.path}`);
  // As PHP reads the query: a repeated key keeps its last value (arrays use key[]).
  for (const [k, v] of req.query) k.endsWith('[]') ? base.searchParams.append(k, v) : base.searchParams.set(k, v);
  const link = (p: number) => {
    const u = new URL(base);
    u.searchParams.set('page', String(p));
    return u.toString();
  };
  const links: string[] = [];
  if (currentPage > 1) links.push(`<${link(Math.min(currentPage - 1, Math.max(totalPages, 1)))}>; rel="prev"`);
  if (totalPages > currentPage) links.push(`<${link(currentPage + 1)}>; rel="next"`);
  return {
    items: all.slice(offset, offset + perPage),
    headers: { 'x-wp-total': String(total), 'x-wp-totalpages': String(totalPages), ...(links.length ? { link: links.join(', ') } : {}) },
  };
}

function sortBy<T extends { id: number }>(items: T[], orderby: string, order: string, include: number[] | null, key: (t: T) => string | number): T[] {
  const sorted = [...items];
  if (orderby === 'include' && include) sorted.sort((a, b) => include.indexOf(a.id) - include.indexOf(b.id));
  else sorted.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id));
  return order === 'desc' && !(orderby === 'include' && include) ? sorted.reverse() : sorted;
}

const json = (body: unknown, headers: Record<string, string> = {}): EmulatorReply => ({
  status: 200,
  headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
  body,
});

function guarded(handler: (req: EmulatorRequest) => EmulatorReply): (req: EmulatorRequest) => EmulatorReply {
  return (req) => {
    try {
      return handler(req);
    } catch (err) {
      if (err instanceof ParamError) return err.reply;
      throw err;
    }
  };
}

function listCustomers(store: WooStore, req: EmulatorRequest): EmulatorReply {
  const role = enumParam(req, 'role', ROLES, 'customer');
  const orderby = enumParam(req, 'orderby', ['id', 'include', 'name', 'registered_date'], 'name');
  const order = enumParam(req, 'order', ['asc', 'desc'], 'asc');
  const include = idList(req, 'include');
  const exclude = idList(req, 'exclude');
  const email = req.query.get('email');
  if (email !== null && email !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw new ParamError(invalidParam('email', 'Invalid email address.', 'rest_invalid_email'));
  const search = req.query.get('search')?.toLowerCase() ?? '';
  let rows = [...store.customers.values()].filter(
    (c: CustomerRecord) =>
      (role === 'all' || c.role === role) &&
      (!include || include.includes(c.id)) &&
      (!exclude || !exclude.includes(c.id)) &&
      // email= is WP_User_Query's search on user_email: exact, case-insensitive.
      (!email || c.email.toLowerCase() === email.toLowerCase()) &&
      (!search || [c.email, c.username, c.first_name, c.last_name].some((f) => f.toLowerCase().includes(search))),
  );
  rows = sortBy(rows, orderby, order, include, (c) =>
    orderby === 'id' ? c.id : orderby === 'registered_date' ? c.createdMs : `${c.first_name} ${c.last_name}`.toLowerCase(),
  );
  const page = paginate(req, rows);
  return json(
    page.items.map((c) => store.customerJson(c)),
    page.headers,
  );
}

function listOrders(store: WooStore, req: EmulatorRequest): EmulatorReply {
  const statusParam = req.query.get('status') ?? 'any';
  const statuses = statusParam.split(',').filter(Boolean);
  for (const s of statuses)
    if (s !== 'any' && !ORDER_STATUSES.includes(s))
      throw new ParamError(invalidParam('status', `status[0] is not one of any, ${ORDER_STATUSES.join(', ')}.`, 'rest_not_in_enum'));
  const orderby = enumParam(req, 'orderby', ['date', 'modified', 'id', 'include', 'title', 'slug'], 'date');
  const order = enumParam(req, 'order', ['asc', 'desc'], 'desc');
  const dp = intParam(req, 'dp', STORE_DECIMALS, 0);
  const include = idList(req, 'include');
  const exclude = idList(req, 'exclude');
  const customerParam = req.query.get('customer');
  const customer = customerParam === null || customerParam === '' ? null : intParam(req, 'customer', 0, 0);
  const gmt = req.query.get('dates_are_gmt') === 'true' || req.query.get('dates_are_gmt') === '1';
  const after = dateParam(req, 'after', gmt);
  const before = dateParam(req, 'before', gmt);
  const modifiedAfter = dateParam(req, 'modified_after', gmt);
  const modifiedBefore = dateParam(req, 'modified_before', gmt);
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  let rows = [...store.orders.values()].filter(
    (o: OrderRecord) =>
      (statuses.includes('any') ? o.status !== 'trash' : statuses.includes(o.status)) &&
      (!include || include.includes(o.id)) &&
      (!exclude || !exclude.includes(o.id)) &&
      (customer === null || o.customer_id === customer) &&
      // WP_Date_Query's after/before are exclusive, at whole seconds.
      (after === null || second(o.createdMs) > after) &&
      (before === null || second(o.createdMs) < before) &&
      (modifiedAfter === null || second(o.modifiedMs) > modifiedAfter) &&
      (modifiedBefore === null || second(o.modifiedMs) < modifiedBefore),
  );
  rows = sortBy(rows, orderby, order, include, (o) =>
    orderby === 'modified' ? o.modifiedMs : orderby === 'id' || orderby === 'title' || orderby === 'slug' ? o.id : o.createdMs,
  );
  const page = paginate(req, rows);
  return json(
    page.items.map((o) => store.orderJson(o, dp)),
    page.headers,
  );
}

export function wooRoutes(store: WooStore): EmulatorRoute[] {
  const idOf = (req: EmulatorRequest) => (/^\d+$/.test(req.params['id'] ?? '') ? Number(req.params['id']) : -1);
  return [
    { method: 'GET', path: `${PREFIX}/customers`, operation: 'customers.list', handler: guarded((req) => listCustomers(store, req)) },
    {
      method: 'GET',
      path: `${PREFIX}/customers/:id`,
      operation: 'customers.get',
      handler: guarded((req) => {
        const c = store.customers.get(idOf(req));
        return c ? json(store.customerJson(c)) : wpError(404, 'woocommerce_rest_invalid_id', 'Invalid resource ID.');
      }),
    },
    { method: 'GET', path: `${PREFIX}/orders`, operation: 'orders.list', handler: guarded((req) => listOrders(store, req)) },
    {
      method: 'GET',
      path: `${PREFIX}/orders/:id`,
      operation: 'orders.get',
      handler: guarded((req) => {
        const o = store.orders.get(idOf(req));
        return o ? json(store.orderJson(o, intParam(req, 'dp', STORE_DECIMALS, 0))) : wpError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
      }),
    },
  ];
}
