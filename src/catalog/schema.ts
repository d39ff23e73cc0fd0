// A small JSON Schema validator for the subset models.schema.json uses (type, enum, required, properties,
// additionalProperties, items, minItems, minLength, pattern, minimum, uniqueItems, anyOf, local $ref), so the
// catalog is checked against its schema at load time and in tests without another dependency.

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  minimum?: number;
  uniqueItems?: boolean;
  anyOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  [other: string]: unknown;
}

export interface SchemaError {
  /** JSON pointer-like path of the offending value, e.g. /families/3/sources/0 */
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  const m = /^#\/\$defs\/(.+)$/.exec(ref);
  const target = m ? root.$defs?.[m[1]] : undefined;
  if (!target) throw new Error(`schema: unresolvable $ref ${ref}`);
  return target;
}

/** Validates `value` against `schema`; returns every violation found (empty when valid). */
export function validateSchema(value: unknown, schema: JsonSchema, root: JsonSchema = schema, path = ''): SchemaError[] {
  const errors: SchemaError[] = [];
  const fail = (message: string) => errors.push({ path: path || '/', message });
  if (schema.$ref) errors.push(...validateSchema(value, resolveRef(root, schema.$ref), root, path));
  if (schema.anyOf && !schema.anyOf.some((s) => validateSchema(value, s, root, path).length === 0)) {
    fail(`expected one of ${schema.anyOf.length} alternatives, found ${JSON.stringify(value)}`);
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t))) {
      fail(`expected ${types.join(' or ')}, found ${typeOf(value)}`);
      return errors;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) fail(`expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, found ${JSON.stringify(value)}`);
  if (typeof value === 'string') checkString(value, schema, fail);
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) fail(`expected >= ${schema.minimum}, found ${value}`);
  if (Array.isArray(value)) errors.push(...checkArray(value, schema, root, path, fail));
  else if (typeOf(value) === 'object') errors.push(...checkObject(value as Record<string, unknown>, schema, root, path, fail));
  return errors;
}

function checkString(value: string, schema: JsonSchema, fail: (m: string) => void): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) fail(`expected at least ${schema.minLength} characters, found ${value.length}`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) fail(`expected to match ${schema.pattern}, found ${JSON.stringify(value)}`);
}

function checkArray(value: unknown[], schema: JsonSchema, root: JsonSchema, path: string, fail: (m: string) => void): SchemaError[] {
  const errors: SchemaError[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) fail(`expected at least ${schema.minItems} items, found ${value.length}`);
  if (schema.uniqueItems) {
    const seen = new Set(value.map((v) => JSON.stringify(v)));
    if (seen.size !== value.length) fail('expected unique items, found duplicates');
  }
  if (schema.items) value.forEach((v, i) => errors.push(...validateSchema(v, schema.items!, root, `${path}/${i}`)));
  return errors;
}

function checkObject(value: Record<string, unknown>, schema: JsonSchema, root: JsonSchema, path: string, fail: (m: string) => void): SchemaError[] {
  const errors: SchemaError[] = [];
  for (const key of schema.required ?? []) if (!(key in value)) fail(`missing required field "${key}"`);
  for (const [key, v] of Object.entries(value)) {
    const sub = schema.properties?.[key];
    if (sub) errors.push(...validateSchema(v, sub, root, `${path}/${key}`));
    else if (schema.additionalProperties === false) fail(`unknown field "${key}"`);
  }
  return errors;
}
