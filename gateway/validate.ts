/**
 * A validator for the small JSON-schema subset used by provider/schemas.ts
 * (type incl. nullable unions, properties, required, additionalProperties as a
 * schema, items, minLength, minimum). Installed as Fastify's validator
 * compiler so ajv is never loaded: that keeps about 6 MB of RSS and its
 * startup compile out of the gateway. No coercion: a wrong JSON type is an
 * error. Unknown keys are allowed (upstream clients send deprecated ones).
 */
import { GatewayError } from './errors.js';

export interface SubsetSchema {
  type?: string | readonly string[];
  properties?: Readonly<Record<string, SubsetSchema>>;
  required?: readonly string[];
  additionalProperties?: SubsetSchema | boolean;
  items?: SubsetSchema;
  minLength?: number;
  minimum?: number;
}

type Check = (value: unknown, path: string) => string | undefined;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(actual: string, wanted: string): boolean {
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

/** Compile `schema` into a function returning the first problem, or undefined. */
export function compileSubset(schema: SubsetSchema): Check {
  const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? schema.type : [schema.type as string];
  const props = schema.properties ? Object.entries(schema.properties).map(([k, s]) => [k, compileSubset(s)] as const) : [];
  const required = schema.required ?? [];
  const extra = typeof schema.additionalProperties === 'object' ? compileSubset(schema.additionalProperties) : undefined;
  const known = new Set(props.map(([k]) => k));
  const items = schema.items ? compileSubset(schema.items) : undefined;

  return (value, path) => {
    const actual = typeOf(value);
    if (types && !types.some((t) => typeMatches(actual, t))) return `${path} must be ${types.join(' or ')}`;
    if (actual === 'string') {
      if (schema.minLength !== undefined && (value as string).length < schema.minLength) {
        return `${path} must NOT have fewer than ${schema.minLength} characters`;
      }
    } else if (actual === 'integer' || actual === 'number') {
      if (schema.minimum !== undefined && (value as number) < schema.minimum) return `${path} must be >= ${schema.minimum}`;
    } else if (actual === 'array' && items) {
      const arr = value as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const problem = items(arr[i], `${path}/${i}`);
        if (problem) return problem;
      }
    } else if (actual === 'object') {
      const obj = value as Record<string, unknown>;
      for (const key of required) if (obj[key] === undefined) return `${path} must have required property '${key}'`;
      for (const [key, check] of props) {
        if (obj[key] === undefined) continue;
        const problem = check(obj[key], `${path}/${key}`);
        if (problem) return problem;
      }
      if (extra) {
        for (const key of Object.keys(obj)) {
          if (known.has(key)) continue;
          const problem = extra(obj[key], `${path}/${key}`);
          if (problem) return problem;
        }
      }
    }
    return undefined;
  };
}

/** Fastify validatorCompiler built on compileSubset. */
export function subsetValidatorCompiler({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const check = compileSubset(schema as SubsetSchema);
  const root = httpPart ?? 'body';
  return (data: unknown): { value: unknown } | { error: Error } => {
    const problem = check(data, root);
    return problem === undefined ? { value: data } : { error: new GatewayError('GW_ERR_INVALID_BODY', `invalid request: ${problem}`) };
  };
}
