// The Accounting API routes the emulator serves, under /v3/company/{realmId}: the query endpoint
// (GET ?query= or POST with the query as an application/text body), reads by id, and the company's
// preferences (home currency) and info. Answers are JSON when the client asks for it (Accept:
// application/json or format=json); otherwise QuickBooks answers XML, and so does this.
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import type { QboEntityName } from '../qbo-types.ts';
import { fault, faultTime, objectNotFound } from './errors.ts';
import { QueryError, parseQuery, runQuery } from './query.ts';
import { ENTITY_NAMES, propertyReader, type QboStore } from './store.ts';
import { HOME_CURRENCY } from './seed.ts';

export const COMPANY_NAME = 'Switchboard Demo Books';

const wantsJson = (req: EmulatorRequest) => /json/i.test(String(req.headers.accept ?? '')) || req.query.get('format') === 'json';

function answer(req: EmulatorRequest, status: number, body: unknown): EmulatorReply {
  if (wantsJson(req)) return { status, headers: { 'content-type': 'application/json;charset=UTF-8' }, body };
  // The API's default representation is XML; the emulator only says so.
  return {
    status,
    headers: { 'content-type': 'application/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="${faultTime()}"/>`,
  };
}

function entityNamed(name: string): QboEntityName | null {
  return ENTITY_NAMES.find((e) => e.toLowerCase() === name.toLowerCase()) ?? null;
}

function query(store: QboStore, req: EmulatorRequest, text: string | null): EmulatorReply {
  if (!text || text.trim() === '') return answer(req, 400, fault('ValidationFault', 'Error parsing query', 'QueryParserError: query is empty', '4000'));
  try {
    const q = parseQuery(text);
    const entity = entityNamed(q.entity);
    if (!entity)
      throw new QueryError('4001', `QueryValidationError: Entity '${q.entity}' is not supported by this emulator (Customer, Invoice, SalesReceipt, Payment)`);
    let rows = store.rows(entity);
    // Name-list entities answer active records only unless the query filters on Active.
    if (entity === 'Customer' && !q.where.some((c) => c.field.toLowerCase() === 'active')) rows = rows.filter((r) => r.Active !== false);
    const { rows: page, total } = runQuery(q, rows, propertyReader(entity));
    if (q.count) return answer(req, 200, { QueryResponse: { totalCount: total }, time: faultTime() });
    const body = page.length === 0 ? {} : { [entity]: page, startPosition: q.startPosition, maxResults: page.length };
    return answer(req, 200, { QueryResponse: body, time: faultTime() });
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    return answer(req, 400, fault('ValidationFault', err.code === '4000' ? 'Error parsing query' : 'Invalid query', err.detail, err.code));
  }
}

export function accountingRoutes(store: QboStore): EmulatorRoute[] {
  const base = '/v3/company/:realm';
  return [
    { method: 'GET', path: `${base}/query`, operation: 'query', handler: (req) => query(store, req, req.query.get('query')) },
    { method: 'POST', path: `${base}/query`, operation: 'query', handler: (req) => query(store, req, req.rawBody.toString('utf8')) },
    {
      method: 'GET',
      path: `${base}/preferences`,
      operation: 'preferences.read',
      handler: (req) =>
        answer(req, 200, {
          Preferences: { Id: '1', SyncToken: '0', CurrencyPrefs: { MultiCurrencyEnabled: true, HomeCurrency: { value: HOME_CURRENCY } } },
          time: faultTime(),
        }),
    },
    {
      method: 'GET',
      path: `${base}/companyinfo/:id`,
      operation: 'companyinfo.read',
      handler: (req) =>
        req.params.id === store.realmId
          ? answer(req, 200, { CompanyInfo: { Id: '1', SyncToken: '0', CompanyName: COMPANY_NAME, Country: 'US' }, time: faultTime() })
          : answer(req, 400, objectNotFound('CompanyInfo', req.params.id ?? '')),
    },
    {
      method: 'GET',
      path: `${base}/:entity/:id`,
      operation: '{entity}.read',
      handler: (req) => {
        const entity = entityNamed(req.params.entity ?? '');
        if (!entity) return answer(req, 400, fault('ValidationFault', 'Unsupported Operation', `Operation ${req.params.entity} is not supported.`, '500'));
        const record = store.table(entity).get(req.params.id ?? '');
        if (!record) return answer(req, 400, objectNotFound(entity, req.params.id ?? ''));
        return answer(req, 200, { [entity]: record, time: faultTime() });
      },
    },
  ];
}
