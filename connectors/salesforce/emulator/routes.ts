// The REST routes the emulator serves under /services/data: the versions list, SOQL query and
// queryAll with query locators (nextRecordsUrl), sObject Collections retrieve (GET and POST), a
// single record, and the org limits. Answers and errors in Salesforce's shapes.
import { randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { API_VERSION } from '../client.ts';
import { SoqlError, matches, parseSoql, sortRecords } from './soql.ts';
import { SCHEMAS, type SObjectName, type SalesforceStore } from './store.ts';

export type SfErrorReply = EmulatorReply;

export function sfError(status: number, errorCode: string, message: string, fields?: string[]): EmulatorReply {
  return { status, body: [{ message, errorCode, ...(fields ? { fields } : {}) }] };
}

/** Versions the emulated org serves (Spring '26 and the two before). */
export const VERSIONS = ['64.0', '65.0', '66.0'];
const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

interface Cursor {
  records: Array<Record<string, unknown>>;
  offset: number;
  total: number;
}

export interface RouteOptions {
  /** Records per query batch (Salesforce: up to 2,000; `Sforce-Query-Options: batchSize=200..2000` asks for fewer). */
  batchSize: number;
}

export function salesforceRoutes(store: SalesforceStore, options: RouteOptions): EmulatorRoute[] {
  const cursors = new Map<string, Cursor>();
  const base = (v: string) => `/services/data/v${v}`;

  const checkVersion = (req: EmulatorRequest): EmulatorReply | null =>
    VERSIONS.includes((req.params['version'] ?? '').replace(/^v/, '')) ? null : sfError(404, 'NOT_FOUND', 'The requested resource does not exist');

  const batchSizeOf = (req: EmulatorRequest): number => {
    const m = /batchSize=(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
    const asked = m ? Number(m[1]) : options.batchSize;
    return Math.max(1, Math.min(options.batchSize, Math.max(200, Math.min(2000, asked))));
  };

  const page = (version: string, locator: string, cursor: Cursor, size: number): EmulatorReply => {
    const batch = cursor.records.slice(cursor.offset, cursor.offset + size);
    cursor.offset += batch.length;
    const done = cursor.offset >= cursor.records.length;
    if (done) cursors.delete(locator);
    return {
      status: 200,
      body: {
        totalSize: cursor.total,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/${version}/query/${locator}-${cursor.offset}` }),
        records: batch,
      },
    };
  };

  const query =
    (all: boolean) =>
    (req: EmulatorRequest): EmulatorReply => {
      const bad = checkVersion(req);
      if (bad) return bad;
      const q = req.query.get('q');
      if (q === null) return sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
      let parsed;
      try {
        parsed = parseSoql(q, SCHEMAS);
      } catch (err) {
        if (err instanceof SoqlError) return sfError(400, err.errorCode, err.message);
        throw err;
      }
      const type = parsed.object as SObjectName;
      let rows = [...store.records[type].values()].filter((r) => (all || !r.IsDeleted) && matches(r, parsed.where));
      rows = sortRecords(rows, parsed.orderBy);
      if (parsed.limit !== null) rows = rows.slice(0, parsed.limit);
      const records = rows.map((r) => store.view(type, r, parsed.fields));
      const locator = `01g5g00000${randomBytes(4).toString('hex').toUpperCase().slice(0, 5)}AAA`;
      const cursor: Cursor = { records, offset: 0, total: records.length };
      cursors.set(locator, cursor);
      return page(req.params['version'] as string, locator, cursor, batchSizeOf(req));
    };

  const more = (req: EmulatorRequest): EmulatorReply => {
    const bad = checkVersion(req);
    if (bad) return bad;
    const m = /^(\w+)-(\d+)$/.exec(req.params['locator'] ?? '');
    const cursor = m ? cursors.get(m[1] as string) : undefined;
    if (!m || !cursor || Number(m[2]) !== cursor.offset) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return page(req.params['version'] as string, m[1] as string, cursor, batchSizeOf(req));
  };

  const typeOf = (req: EmulatorRequest): SObjectName | null => {
    const t = req.params['type'] ?? '';
    return t in SCHEMAS ? (t as SObjectName) : null;
  };
  const unknownType = (req: EmulatorRequest) => sfError(400, 'INVALID_TYPE', `sObject type '${req.params['type']}' is not supported.`);

  /** sObject Collections retrieve: an array aligned with `ids`; null for a record that is missing or deleted. */
  const retrieve = (req: EmulatorRequest, ids: string[], fields: string[]): EmulatorReply => {
    const type = typeOf(req);
    if (!type) return unknownType(req);
    if (ids.length === 0 || ids.some((id) => id === '')) return sfError(400, 'MALFORMED_ID', 'ids is required');
    if (fields.length === 0) return sfError(400, 'INVALID_FIELD', 'fields is required');
    const schema = SCHEMAS[type];
    const known: string[] = [];
    for (const f of fields) {
      const name = Object.keys(schema).find((k) => k.toLowerCase() === f.toLowerCase());
      if (!name)
        return sfError(
          400,
          'INVALID_FIELD',
          `No such column '${f}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      known.push(name);
    }
    // "If a passed ID is invalid, the array returns null for that object" (REST API Developer
    // Guide, "Get Records Using sObject Collections"): a malformed id is a null slot, not a 400.
    return {
      status: 200,
      body: ids.map((id) => {
        const r = ID_RE.test(id) ? store.find(type, id) : undefined;
        return r ? store.view(type, r, known) : null;
      }),
    };
  };

  return [
    {
      method: 'GET',
      path: '/services/data',
      operation: 'versions',
      handler: () => ({ status: 200, body: VERSIONS.map((v) => ({ label: `Release ${v}`, url: base(v), version: v })) }),
    },
    { method: 'GET', path: '/services/data/:version/query', operation: 'query', handler: query(false) },
    { method: 'GET', path: '/services/data/:version/queryAll', operation: 'queryAll', handler: query(true) },
    { method: 'GET', path: '/services/data/:version/query/:locator', operation: 'queryMore', handler: more },
    { method: 'GET', path: '/services/data/:version/queryAll/:locator', operation: 'queryMore', handler: more },
    {
      method: 'GET',
      path: '/services/data/:version/composite/sobjects/:type',
      operation: 'collections.{type}',
      handler: (req) => {
        const bad = checkVersion(req);
        if (bad) return bad;
        const ids = (req.query.get('ids') ?? '').split(',').filter((s, i, a) => s !== '' || a.length > 1);
        const fields = (req.query.get('fields') ?? '').split(',').filter(Boolean);
        if (ids.length > 800) return { status: 414, body: 'URI Too Long' };
        return retrieve(req, ids, fields);
      },
    },
    {
      method: 'POST',
      path: '/services/data/:version/composite/sobjects/:type',
      operation: 'collections.{type}',
      handler: (req) => {
        const bad = checkVersion(req);
        if (bad) return bad;
        let body: { ids?: unknown; fields?: unknown };
        try {
          body = JSON.parse(req.rawBody.toString('utf8')) as typeof body;
        } catch {
          return sfError(400, 'JSON_PARSER_ERROR', 'The request body is not valid JSON');
        }
        if (!Array.isArray(body.ids) || !Array.isArray(body.fields)) return sfError(400, 'INVALID_FIELD', 'ids and fields are required');
        if (body.ids.length > 2000) return sfError(400, 'LIMIT_EXCEEDED', 'Maximum number of ids is 2000');
        return retrieve(req, body.ids.map(String), body.fields.map(String));
      },
    },
    {
      method: 'GET',
      path: '/services/data/:version/sobjects/:type/:id',
      operation: 'sobject.{type}',
      handler: (req) => {
        const bad = checkVersion(req);
        if (bad) return bad;
        const type = typeOf(req);
        if (!type) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
        const r = store.find(type, req.params['id'] ?? '');
        if (!r) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
        const fields = req.query.get('fields')?.split(',').filter(Boolean);
        return { status: 200, body: store.view(type, r, fields) };
      },
    },
  ];
}

export { API_VERSION };
