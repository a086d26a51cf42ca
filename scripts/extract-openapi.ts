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
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
      components,
      security: 'keep',
      tags: 'drop',
    },
    spec,
    '#',
  );
}

/** The extract of one official file, with a header naming its source and the input's digest. */
export function extractFile(input: string, source: SpecSource): string {
  const extract = extractSchema(JSON.parse(input) as Json);
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
