// Checks JSON (emulator responses, recorded fixtures) against the types the official `stripe`
// package declares for its pinned API version, read with the TypeScript compiler: every required
// field present, no field the type does not have, every value of the declared kind, and enum
// values from the declared list (open enums' catch-all string is not accepted, so a value that
// version no longer has, like ui_mode "hosted", is caught). Used by tests only.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const TARGETS_FILE = join(here, '__stripe_shape_targets__.ts');

export interface ShapeChecker {
  /** Problems found, as `path: what is wrong`; empty when `value` fits `Stripe.<typeName>`. */
  check(typeName: string, value: unknown): string[];
}

/** Builds a checker for the named types, e.g. `{ Invoice: 'Stripe.Invoice' }` (a few seconds: it loads the package's types). */
export function createShapeChecker(types: Record<string, string>): ShapeChecker {
  const source = `import type Stripe from 'stripe';\nexport interface Targets {\n${Object.entries(types)
    .map(([name, type]) => `  ${name}: ${type};`)
    .join('\n')}\n}\n`;
  const configPath = join(here, '..', '..', 'tsconfig.json');
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, (p) => ts.sys.readFile(p)).config, ts.sys, dirname(configPath));
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, ...rest) =>
    file === TARGETS_FILE ? ts.createSourceFile(file, source, language) : getSourceFile(file, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => file === TARGETS_FILE || fileExists(file);
  const program = ts.createProgram([TARGETS_FILE], config.options, host);
  const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(TARGETS_FILE));
  if (problems.length > 0) throw new Error(ts.flattenDiagnosticMessageText(problems[0]?.messageText ?? '', '\n'));
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(TARGETS_FILE) as ts.SourceFile;
  const targets = checker.getExportsOfModule(checker.getSymbolAtLocation(file) as ts.Symbol).find((s) => s.name === 'Targets') as ts.Symbol;
  const targetsType = checker.getDeclaredTypeOfSymbol(targets);
  const walker = new ShapeWalker(checker);
  return {
    check(typeName, value) {
      const property = targetsType.getProperty(typeName);
      if (!property) throw new Error(`createShapeChecker was not given ${typeName}`);
      const out: string[] = [];
      walker.check(value, checker.getTypeOfSymbol(property), typeName, out);
      return out;
    },
  };
}

class ShapeWalker {
  // The compiler's answers are slow to compute and asked for again for every value: kept per type.
  private readonly names = new Map<ts.Type, string>();
  private readonly shapes = new Map<ts.Type, { properties: Map<string, { type: ts.Type; optional: boolean }>; index: ts.Type | null }>();

  constructor(private readonly checker: ts.TypeChecker) {}

  private nameOf(type: ts.Type): string {
    let name = this.names.get(type);
    if (name === undefined) this.names.set(type, (name = this.checker.typeToString(type)));
    return name;
  }

  private shapeOf(type: ts.Type) {
    let shape = this.shapes.get(type);
    if (!shape) {
      const properties = new Map(
        this.checker
          .getPropertiesOfType(type)
          .map((p) => [p.name, { type: this.checker.getTypeOfSymbol(p), optional: (p.flags & ts.SymbolFlags.Optional) !== 0 }]),
      );
      shape = { properties, index: this.checker.getIndexInfoOfType(type, ts.IndexKind.String)?.type ?? null };
      this.shapes.set(type, shape);
    }
    return shape;
  }

  check(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    // Only members of the value's own kind can match (JSON has no undefined, so the `undefined` an
    // optional property adds never does); their problems are the useful ones to report.
    const all = type.isUnion() ? type.types : [type];
    const sameKind = all.filter((t) => this.kindOfType(t) === kindOf(value));
    const members = sameKind.length > 0 ? sameKind : all.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
    // A union is met when one member fits; report the closest member's problems otherwise.
    let best: string[] | null = null;
    for (const member of members) {
      const found: string[] = [];
      this.checkMember(value, member, path, found);
      if (found.length === 0) return;
      if (!best || found.length < best.length) best = found;
    }
    const enumLike = members.length > 1 && members.every((t) => t.isLiteral() || t.isIntersection());
    if (enumLike) out.push(`${path}: ${JSON.stringify(value)} is not one of ${this.nameOf(type)}`);
    else out.push(...(best ?? [`${path}: no type to check against`]));
  }

  private isDecimal(type: ts.Type): boolean {
    return this.nameOf(type) === 'Decimal';
  }

  private kindOfType(type: ts.Type): string {
    const f = type.flags;
    if (f & ts.TypeFlags.Null) return 'null';
    if (f & ts.TypeFlags.Undefined) return 'undefined';
    if (f & (ts.TypeFlags.StringLike | ts.TypeFlags.Intersection) || this.isDecimal(type)) return 'string';
    if (f & ts.TypeFlags.NumberLike) return 'number';
    if (f & ts.TypeFlags.BooleanLike) return 'boolean';
    if (this.checker.isArrayType(type)) return 'array';
    return 'object';
  }

  private checkMember(value: unknown, type: ts.Type, path: string, out: string[]): void {
    const f = type.flags;
    const expect = (ok: boolean) => {
      if (!ok) out.push(`${path}: ${JSON.stringify(value)} is not ${this.nameOf(type)}`);
    };
    if (f & ts.TypeFlags.Null) return expect(value === null);
    if (f & ts.TypeFlags.StringLiteral) return expect(value === (type as ts.StringLiteralType).value);
    if (f & ts.TypeFlags.NumberLiteral) return expect(value === (type as ts.NumberLiteralType).value);
    if (f & ts.TypeFlags.BooleanLiteral) return expect(value === (this.nameOf(type) === 'true'));
    if (f & ts.TypeFlags.String) return expect(typeof value === 'string');
    if (f & ts.TypeFlags.Number) return expect(typeof value === 'number');
    if (f & ts.TypeFlags.Boolean) return expect(typeof value === 'boolean');
    // The SDK turns decimal strings into its Decimal class; on the wire they are strings.
    if (this.isDecimal(type)) return expect(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value));
    // Open enums' catch-all (`string & Record<never, never>`): not accepted, the known values are.
    if (type.isIntersection()) return expect(false);
    if (this.checker.isArrayType(type)) {
      if (!Array.isArray(value)) return expect(false);
      const element = this.checker.getTypeArguments(type as ts.TypeReference)[0] as ts.Type;
      value.forEach((item, i) => this.check(item, element, `${path}[${i}]`, out));
      return;
    }
    if (f & ts.TypeFlags.Object) return this.checkObject(value, type, path, out);
    out.push(`${path}: cannot check against ${this.nameOf(type)}`);
  }

  private checkObject(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      out.push(`${path}: ${JSON.stringify(value)} is not an object (${this.nameOf(type)})`);
      return;
    }
    const record = value as Record<string, unknown>;
    const { properties, index } = this.shapeOf(type);
    for (const [key, property] of properties) {
      if (!(key in record)) {
        if (!property.optional) out.push(`${path}.${key}: missing (required in ${this.nameOf(type)})`);
        continue;
      }
      this.check(record[key], property.type, `${path}.${key}`, out);
    }
    for (const key of Object.keys(record)) {
      if (properties.has(key)) continue;
      if (index) this.check(record[key], index, `${path}.${key}`, out);
      else out.push(`${path}.${key}: not in ${this.nameOf(type)}`);
    }
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
