// Turns a provider's official OpenAPI files into schema extracts the project can ship: paths,
// methods, parameters, request and response schemas and security schemes stay; every description,
// summary, example, external doc link and other prose goes. Specs are facts our tests check against
// (Ajv validation of emulator answers, Prism validating the connector's requests); the provider's
// writing is not ours to redistribute. Keys are kept by an allowlist per OpenAPI object: a key the
// extractor does not know stops it, so new prose can never slip through unnoticed.
//
//   npx tsx scripts/extract-openapi.ts <input-dir> <output-dir>
//
// Every *.json in <input-dir> is extracted to the same file name in <output-dir>, whose
// sources.json must say where each file comes from ({ "<file>": { repository, path, commit?, snapshot } });
// that, with the input's SHA-256, becomes the extract's `info.x-extract` header. Deterministic:
// the same input always gives byte-identical output.
//
// Selective mode, for large official files (Xero's accounting spec is 926 KB of YAML): a
// sources.json entry with `input` names the file to read (JSON or YAML) and `paths` (or, for
// OpenAPI 3.1 `webhooks`, `webhooks`) the operations to keep; the extract then holds only those and
// the components they reach through $ref, written to the entry's own (JSON) file name.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SpecSource {
  /** The public repository the file is published in. */
  repository: string;
  /** The file's path in that repository. */
  path: string;
  /** The repository commit the file was taken at, when known. */
  commit?: string;
  /** The day the input file was taken (YYYY-MM-DD). */
  snapshot: string;
  /** Selective mode: the input file in <input-dir> (.json, .yaml or .yml) when it is not the entry's name. */
  input?: string;
  /** Selective mode: the paths to keep (every other path, and every component none of them reaches, goes). */
  paths?: string[];
  /** Selective mode for OpenAPI 3.1 webhook documents: the webhooks to keep. */
  webhooks?: string[];
}

/** What happens to a key of one kind of OpenAPI object. */
type Rule = 'keep' | 'drop' | 'empty' | ((value: Json, at: string) => Json);

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

class ExtractError extends Error {}

function expectObject(value: Json, at: string): JsonObject {
  if (!isObject(value)) throw new ExtractError(`${at}: expected an object`);
  return value;
}

/** Applies `rules` to every key of `value`; `x-` keys are dropped unless a rule keeps them. */
function object(kind: string, rules: Record<string, Rule>, value: Json, at: string): JsonObject {
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(expectObject(value, at))) {
    const rule = rules[key] ?? (key.startsWith('x-') ? 'drop' : undefined);
    if (rule === undefined)
      throw new ExtractError(`${at}: unexpected key ${JSON.stringify(key)} in an OpenAPI ${kind}; tell the extractor whether it is structure or prose`);
    if (rule === 'drop') continue;
    out[key] = rule === 'keep' ? child : rule === 'empty' ? '' : rule(child, `${at}/${key}`);
  }
  return out;
}

const mapOf =
  (each: (value: Json, at: string) => Json) =>
  (value: Json, at: string): Json =>
    Object.fromEntries(Object.entries(expectObject(value, at)).map(([k, v]) => [k, each(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)]));

const listOf =
  (each: (value: Json, at: string) => Json) =>
  (value: Json, at: string): Json => {
    if (!Array.isArray(value)) throw new ExtractError(`${at}: expected an array`);
    return value.map((v, i) => each(v, `${at}/${i}`));
  };

/** Prose every OpenAPI object may carry. */
const PROSE: Record<string, Rule> = { description: 'drop', summary: 'drop', example: 'drop', examples: 'drop', externalDocs: 'drop' };

// JSON Schema keywords that constrain data (kept as they are) ...
const SCHEMA_FACTS = [
  '$ref',
  'type',
  'format',
  'enum',
  'const',
  'default',
  'nullable',
  'readOnly',
  'writeOnly',
  'deprecated',
  'required',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'discriminator',
] as const;

function schema(value: Json, at: string): Json {
  if (typeof value === 'boolean') return value;
  return object(
    'schema',
    {
      ...PROSE,
      title: 'drop',
      xml: 'drop',
      ...Object.fromEntries(SCHEMA_FACTS.map((k) => [k, 'keep' as const])),
      // ... and the ones that hold schemas (property names are data, never prose).
      properties: mapOf(schema),
      additionalProperties: schema,
      items: schema,
      not: schema,
      allOf: listOf(schema),
      anyOf: listOf(schema),
      oneOf: listOf(schema),
    },
    value,
    at,
  );
}

const mediaType = (value: Json, at: string): Json => object('media type', { ...PROSE, schema }, value, at);

const PARAMETER_FACTS: Record<string, Rule> = {
  ...PROSE,
  $ref: 'keep',
  required: 'keep',
  deprecated: 'keep',
  style: 'keep',
  explode: 'keep',
  allowEmptyValue: 'keep',
  allowReserved: 'keep',
  schema,
  content: mapOf(mediaType),
};

const parameter = (value: Json, at: string): Json => object('parameter', { ...PARAMETER_FACTS, name: 'keep', in: 'keep' }, value, at);
const header = (value: Json, at: string): Json => object('header', PARAMETER_FACTS, value, at);
const requestBody = (value: Json, at: string): Json =>
  object('request body', { ...PROSE, $ref: 'keep', required: 'keep', content: mapOf(mediaType) }, value, at);

function response(value: Json, at: string): Json {
  // A reference stands for the response it names; prose beside it goes.
  if (isObject(value) && typeof value.$ref === 'string') return object('response reference', { ...PROSE, $ref: 'keep' }, value, at);
  // OpenAPI requires a response description: it stays, empty.
  return object('response', { ...PROSE, description: 'empty', content: mapOf(mediaType), headers: mapOf(header), links: 'drop' }, value, at);
}

const operation = (value: Json, at: string): Json =>
  object(
    'operation',
    {
      ...PROSE,
      tags: 'drop',
      operationId: 'keep',
      deprecated: 'keep',
      security: 'keep',
      parameters: listOf(parameter),
      requestBody,
      responses: mapOf(response),
      // A fact about the API, not prose: which rate limits the operation is exempt from.
      'x-hubspot-rate-limit-exemptions': 'keep',
    },
    value,
    at,
  );

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const pathItem = (value: Json, at: string): Json =>
  object('path item', { ...PROSE, $ref: 'keep', parameters: listOf(parameter), ...Object.fromEntries(METHODS.map((m) => [m, operation])) }, value, at);

const oauthFlow = (value: Json, at: string): Json =>
  // Scope names are facts; what each scope means is prose.
  object('OAuth flow', { authorizationUrl: 'keep', tokenUrl: 'keep', refreshUrl: 'keep', scopes: mapOf(() => '') }, value, at);

const securityScheme = (value: Json, at: string): Json =>
  object(
    'security scheme',
    { ...PROSE, type: 'keep', scheme: 'keep', bearerFormat: 'keep', name: 'keep', in: 'keep', openIdConnectUrl: 'keep', flows: mapOf(oauthFlow) },
    value,
    at,
  );

const components = (value: Json, at: string): Json =>
  object(
    'components',
    {
      schemas: mapOf(schema),
      responses: mapOf(response),
      parameters: mapOf(parameter),
      requestBodies: mapOf(requestBody),
      headers: mapOf(header),
      securitySchemes: mapOf(securityScheme),
      examples: 'drop',
      links: 'drop',
    },
    value,
    at,
  );

const server = (value: Json, at: string): Json =>
  object(
    'server',
    { ...PROSE, url: 'keep', variables: mapOf((v, a) => object('server variable', { ...PROSE, enum: 'keep', default: 'keep' }, v, a)) },
    value,
    at,
  );

/** The facts of an OpenAPI 3 document, without prose (and without a source header). */
export function extractSchema(spec: Json): JsonObject {
  return object(
    'document',
    {
      ...PROSE,
      openapi: 'keep',
      info: (v, a) => object('info', { ...PROSE, title: 'keep', version: 'keep', termsOfService: 'drop', contact: 'drop', license: 'drop' }, v, a),
      servers: listOf(server),
      paths: mapOf(pathItem),
      webhooks: mapOf(pathItem),
      components,
      security: 'keep',
      tags: 'drop',
    },
    spec,
    '#',
  );
}

/** Every `#/components/<kind>/<name>` reference under `node`. */
function refsIn(node: Json, out: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const v of node) refsIn(v, out);
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/')) out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/**
 * Keeps the listed paths (and webhooks) and the components they reach, transitively; security
 * schemes stay. A listed path the document lacks stops the extraction.
 */
export function selectOperations(spec: Json, keep: { paths?: string[]; webhooks?: string[] }): JsonObject {
  const doc = expectObject(spec, '#');
  const out: JsonObject = { ...doc };
  for (const kind of ['paths', 'webhooks'] as const) {
    const wanted = keep[kind];
    if (!wanted) {
      if (kind === 'webhooks') delete out.webhooks;
      else out.paths = {};
      continue;
    }
    const all = expectObject(doc[kind] ?? {}, `#/${kind}`);
    const picked: JsonObject = {};
    for (const name of wanted) {
      if (!(name in all)) throw new ExtractError(`#/${kind}: no ${JSON.stringify(name)} in the input (have ${Object.keys(all).length} ${kind})`);
      picked[name] = all[name] as Json;
    }
    out[kind] = picked;
  }
  const components = isObject(doc.components) ? doc.components : {};
  const reached = new Set<string>();
  const pending = [...refsIn({ paths: out.paths ?? {}, webhooks: out.webhooks ?? {} } as Json, new Set())];
  while (pending.length) {
    const ref = pending.pop() as string;
    if (reached.has(ref)) continue;
    reached.add(ref);
    const [, , kind, name] = ref.split('/');
    const target = isObject(components[kind ?? ''] as Json)
      ? (components[kind ?? ''] as JsonObject)[
          decodeURIComponent(name ?? '')
            .replace(/~1/g, '/')
            .replace(/~0/g, '~')
        ]
      : undefined;
    if (target === undefined) throw new ExtractError(`${ref}: referenced but not defined`);
    for (const r of refsIn(target, new Set())) if (!reached.has(r)) pending.push(r);
  }
  const pruned: JsonObject = {};
  for (const [kind, entries] of Object.entries(components)) {
    if (kind === 'securitySchemes') {
      pruned[kind] = entries;
      continue;
    }
    if (!isObject(entries)) continue;
    const kept = Object.fromEntries(
      Object.entries(entries).filter(([name]) => reached.has(`#/components/${kind}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`)),
    );
    if (Object.keys(kept).length) pruned[kind] = kept;
  }
  out.components = pruned;
  return out;
}

/** The extract of one official file, with a header naming its source and the input's digest. */
export function extractFile(input: string, source: SpecSource): string {
  const parsed = (/\.ya?ml$/i.test(source.input ?? '') ? parseYaml(input, { maxAliasCount: -1 }) : JSON.parse(input)) as Json;
  const selected = source.paths || source.webhooks ? selectOperations(parsed, { paths: source.paths, webhooks: source.webhooks }) : parsed;
  const extract = extractSchema(selected);
  const info = expectObject(extract.info ?? {}, '#/info');
  info['x-extract'] = {
    source: {
      repository: source.repository,
      path: source.path,
      ...(source.commit ? { commit: source.commit } : {}),
      snapshot: source.snapshot,
      sha256: createHash('sha256').update(input).digest('hex'),
    },
    generator: 'scripts/extract-openapi.ts',
    removed: 'descriptions, summaries, examples, titles, tags, external docs, vendor extensions other than rate-limit exemptions',
    ...(source.paths || source.webhooks
      ? {
          kept: {
            ...(source.paths ? { paths: source.paths } : {}),
            ...(source.webhooks ? { webhooks: source.webhooks } : {}),
            components: 'those the kept operations reach',
          },
        }
      : {}),
  };
  extract.info = info;
  return `${JSON.stringify(extract, null, 2)}\n`;
}

function readSources(outputDir: string): Record<string, SpecSource> {
  const file = join(outputDir, 'sources.json');
  const sources = JSON.parse(readFileSync(file, 'utf8')) as Record<string, SpecSource>;
  for (const [name, s] of Object.entries(sources)) {
    if (typeof s.repository !== 'string' || typeof s.path !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(String(s.snapshot))) {
      throw new ExtractError(`${file}: ${name} needs repository, path and snapshot (YYYY-MM-DD)`);
    }
  }
  return sources;
}

function main(argv: string[]): void {
  const [inputDir, outputDir] = argv;
  if (!inputDir || !outputDir) {
    console.error('usage: npx tsx scripts/extract-openapi.ts <input-dir> <output-dir>');
    process.exit(2);
  }
  const sources = readSources(outputDir);
  const selective = Object.entries(sources).filter(([, s]) => s.input);
  if (selective.length > 0) {
    for (const [name, source] of selective) {
      const input = readFileSync(join(inputDir, source.input as string), 'utf8');
      const output = extractFile(input, source);
      writeFileSync(join(outputDir, name), output);
      console.log(`${source.input} → ${name}: ${input.length} → ${output.length} bytes`);
    }
    return;
  }
  const inputs = readdirSync(inputDir)
    .filter((f) => f.endsWith('.json') && f !== 'sources.json')
    .sort();
  if (inputs.length === 0) throw new ExtractError(`${inputDir}: no .json files`);
  for (const name of inputs) {
    const source = sources[name];
    if (!source) throw new ExtractError(`${join(outputDir, 'sources.json')}: no entry for ${name}`);
    const input = readFileSync(join(inputDir, name), 'utf8');
    const output = extractFile(input, source);
    writeFileSync(join(outputDir, name), output);
    console.log(`${name}: ${input.length} → ${output.length} bytes`);
  }
}

if (process.argv[1] && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ExtractError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
