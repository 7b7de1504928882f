/**
 * Property-based fuzzing of every gateway route that takes a JSON body
 * (/system/functions POST/PUT/DELETE, /system/scale-function/NAME,
 * /system/secrets POST/PUT/DELETE, /system/namespace[/NS] POST/PUT,
 * /system/alert) against `faas-ts up` as a real child process: malformed
 * JSON, arbitrary JSON, a wrong type in each field, missing and extra fields,
 * bodies over max_body_bytes, 100,000-level nesting. Every answer must be the
 * expected 4xx (or success) with the spec's plain-text error shape; the
 * process must survive, stay healthy, keep its function and bounded RSS.
 *
 * Seed: fixed (reproducible); FUZZ_SEED=random or FUZZ_SEED=<n> to vary.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  FN,
  MAX_BODY_BYTES,
  Tally,
  call,
  checkRss,
  checkUnharmed,
  fuzzSeed,
  expectAnswer,
  property,
  send,
  settledRssKiB,
  startFuzzGateway,
  type Answer,
  type FuzzGateway,
} from './fuzz-gateway-support.js';

const seed = fuzzSeed();
const JSON_HEADERS = { 'content-type': 'application/json' };

type FieldType = 'string' | 'nonEmptyString' | 'integer>=0' | 'boolean' | 'stringMap' | 'nullableStringMap' | 'stringArray' | 'resources';

interface BodyRoute {
  group: string;
  method: string;
  path: string;
  /** A valid body (only ever sent with one field broken). */
  valid: Record<string, unknown>;
  fields: Record<string, FieldType>;
  required: string[];
}

const isStringMap = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** Independent statement of provider/schemas.ts: does `v` have the field's type? */
function fits(type: FieldType, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'nonEmptyString':
      return typeof v === 'string' && v.length > 0;
    case 'integer>=0':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0;
    case 'boolean':
      return typeof v === 'boolean';
    case 'stringMap':
      return isStringMap(v);
    case 'nullableStringMap':
      return v === null || isStringMap(v);
    case 'stringArray':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'resources':
      return v === null || (typeof v === 'object' && !Array.isArray(v) &&
        ['memory', 'cpu', 'nvidia.com/gpu', 'amd.com/gpu', 'intel.com/gpu'].every((k) => (v as Record<string, unknown>)[k] === undefined || typeof (v as Record<string, unknown>)[k] === 'string'));
  }
}

const deployFields: Record<string, FieldType> = {
  service: 'nonEmptyString',
  image: 'nonEmptyString',
  namespace: 'string',
  envProcess: 'string',
  envVars: 'stringMap',
  constraints: 'stringArray',
  secrets: 'stringArray',
  labels: 'nullableStringMap',
  annotations: 'nullableStringMap',
  limits: 'resources',
  requests: 'resources',
  readOnlyRootFilesystem: 'boolean',
};
const deployValid = { service: 'fz-new', image: 'nothing:latest', labels: {}, annotations: {} };
const secretFields: Record<string, FieldType> = { name: 'nonEmptyString', namespace: 'string', value: 'string', rawValue: 'string' };

const ROUTES: BodyRoute[] = [
  { group: 'POST /system/functions', method: 'POST', path: '/system/functions', valid: deployValid, fields: deployFields, required: ['service', 'image'] },
  { group: 'PUT /system/functions', method: 'PUT', path: '/system/functions', valid: deployValid, fields: deployFields, required: ['service', 'image'] },
  {
    group: 'DELETE /system/functions',
    method: 'DELETE',
    path: '/system/functions',
    valid: { functionName: 'fz-none' },
    fields: { functionName: 'nonEmptyString', namespace: 'string' },
    required: ['functionName'],
  },
  {
    group: 'POST /system/scale-function',
    method: 'POST',
    path: '/system/scale-function/fz-none',
    valid: { serviceName: 'fz-none', replicas: 1 },
    fields: { serviceName: 'string', replicas: 'integer>=0', namespace: 'string' },
    required: [],
  },
  { group: 'POST /system/secrets', method: 'POST', path: '/system/secrets', valid: { name: 'fz-s', value: 'v' }, fields: secretFields, required: ['name'] },
  { group: 'PUT /system/secrets', method: 'PUT', path: '/system/secrets', valid: { name: 'fz-s', value: 'v' }, fields: secretFields, required: ['name'] },
  { group: 'DELETE /system/secrets', method: 'DELETE', path: '/system/secrets', valid: { name: 'fz-s' }, fields: secretFields, required: ['name'] },
  {
    group: 'POST /system/namespace',
    method: 'POST',
    path: '/system/namespace/fz-ns',
    valid: { name: 'fz-ns', labels: {} },
    fields: { name: 'string', labels: 'stringMap', annotations: 'stringMap' },
    required: [],
  },
  {
    group: 'PUT /system/namespace',
    method: 'PUT',
    path: '/system/namespace/fz-ns',
    valid: { name: 'fz-ns', labels: {} },
    fields: { name: 'string', labels: 'stringMap', annotations: 'stringMap' },
    required: [],
  },
];

const tally = new Tally();

const sendJson = (gw: FuzzGateway, group: string, method: string, path: string, body?: string): Promise<Answer> =>
  send(gw, tally, group, method, path, { body, headers: JSON_HEADERS });




/** Text that is not JSON: random strings and truncated/corrupted JSON documents. */
const malformedJson = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([v, at, junk]) => {
      const s = JSON.stringify(v) ?? 'null';
      const i = at % (s.length + 1);
      return s.slice(0, i) + junk + s.slice(i);
    }),
    fc.tuple(fc.object({ maxDepth: 3 }), fc.nat()).map(([v, at]) => {
      const s = JSON.stringify(v);
      return s.slice(0, Math.max(1, at % s.length));
    }),
    fc.constantFrom('{', '[', '{"a":', '{"service":"x",}', "{'service':'x'}", 'NaN', 'undefined', '{"a":1}{"b":2}', '\u0000', '\ufeff{}'),
  )
  .filter((s) => {
    if (s.trim() === '') return false;
    try {
      JSON.parse(s.trim());
      return false;
    } catch {
      return true;
    }
  });

t.test('JSON-body routes under fuzzing', async (t) => {
  const gw = await startFuzzGateway(t);
  for (let i = 0; i < 20; i++) await call(gw, 'GET', '/system/functions'); // warm up before the RSS baseline
  const rssBefore = await settledRssKiB(gw);

  await t.test('malformed JSON is a 400 on every route', async (t) => {
    await property(
      t,
      'malformed JSON',
      fc.tuple(fc.constantFrom(...ROUTES), malformedJson),
      async ([r, body]) => {
        const a = await sendJson(gw, r.group, r.method, r.path, body);
        expectAnswer(a, [400], `${r.group} ${JSON.stringify(body)}`);
        if (!a.text.startsWith('invalid JSON body: ')) throw new Error(`${r.group}: message ${JSON.stringify(a.text)}`);
      },
      450,
    );
    await property(
      t,
      'alert: malformed JSON',
      malformedJson,
      async (body) => {
        const a = await sendJson(gw, 'POST /system/alert', 'POST', '/system/alert', body);
        expectAnswer(a, [400], `alert ${JSON.stringify(body)}`, { newline: false });
        if (a.text !== 'Unable to parse alert, bad format.') throw new Error(`alert message ${JSON.stringify(a.text)}`);
      },
      100,
    );
  });

  await t.test('arbitrary JSON documents: only the documented statuses', async (t) => {
    const allowed: Record<string, number[]> = {
      'POST /system/functions': [400],
      'PUT /system/functions': [400],
      'DELETE /system/functions': [400],
      'POST /system/scale-function': [400, 404],
      'POST /system/secrets': [400],
      'PUT /system/secrets': [400],
      'DELETE /system/secrets': [400],
      'POST /system/namespace': [202, 400, 409],
      'PUT /system/namespace': [202, 400, 404],
    };
    await property(
      t,
      'arbitrary JSON',
      fc.tuple(fc.constantFrom(...ROUTES), fc.jsonValue({ maxDepth: 5 })),
      async ([r, v]) => {
        const a = await sendJson(gw, r.group, r.method, r.path, JSON.stringify(v));
        expectAnswer(a, allowed[r.group]!, `${r.group} ${JSON.stringify(v).slice(0, 200)}`);
      },
      450,
    );
  });

  await t.test('a wrong type in any field is a 400 naming the field', async (t) => {
    const arb = fc
      .constantFrom(...ROUTES)
      .chain((r) => fc.tuple(fc.constant(r), fc.constantFrom(...Object.keys(r.fields))))
      .chain(([r, field]) =>
        fc.tuple(
          fc.constant(r),
          fc.constant(field),
          fc.jsonValue({ maxDepth: 3 }).filter((v) => !fits(r.fields[field]!, v) && !(r.fields[field] === 'nonEmptyString' && v === '')),
        ),
      );
    await property(
      t,
      'wrong field types',
      arb,
      async ([r, field, v]) => {
        const a = await sendJson(gw, r.group, r.method, r.path, JSON.stringify({ ...r.valid, [field]: v }));
        expectAnswer(a, [400], `${r.group} ${field}=${JSON.stringify(v).slice(0, 200)}`);
        if (!a.text.includes(`body/${field}`)) throw new Error(`${r.group} ${field}: message ${JSON.stringify(a.text)}`);
      },
      500,
    );
  });

  await t.test('a missing required field or a non-object body is a 400', async (t) => {
    for (const r of ROUTES) {
      for (const field of r.required) {
        const { [field]: _dropped, ...rest } = r.valid;
        const a = await sendJson(gw, r.group, r.method, r.path, JSON.stringify(rest));
        t.equal(a.status, 400, `${r.group} without ${field}`);
        t.match(a.text, `must have required property '${field}'`);
      }
      for (const body of ['', 'null', '[]', '"x"', '1', 'true']) {
        const a = await sendJson(gw, r.group, r.method, r.path, body);
        // An empty body is "no body": fine for the routes without required fields.
        const ok = body === '' && r.required.length === 0 ? [202, 400, 404, 409] : [400];
        t.ok(ok.includes(a.status), `${r.group} body ${JSON.stringify(body)}: ${a.status} ${a.text.trim()}`);
      }
    }
  });

  await t.test('an environment no process can receive is a 400, not a function that never starts', async (t) => {
    const text = fc.string({ maxLength: 10 });
    const withNul = fc.tuple(text, text).map(([a, b]) => `${a}\0${b}`);
    const badEnv = fc.oneof(
      fc.tuple(fc.oneof(withNul, fc.constant(''), fc.tuple(text, text).map(([a, b]) => `${a}=${b}`)), text).map(([k, v]) => ({ envVars: { [k]: v } })),
      fc.tuple(text.filter((k) => k !== '' && !k.includes('=') && !k.includes('\0')), withNul).map(([k, v]) => ({ envVars: { [k]: v } })),
      withNul.map((p) => ({ envProcess: p })),
    );
    await property(
      t,
      'bad environment',
      fc.tuple(fc.constantFrom('POST', 'PUT'), badEnv),
      async ([method, env]) => {
        const body = JSON.stringify({ service: 'fz-env', image: `${FN}:latest`, ...env });
        const a = await sendJson(gw, `${method} /system/functions`, method, '/system/functions', body);
        expectAnswer(a, [400], `${method} ${body}`);
        if (!/envVars|envProcess/.test(a.text)) throw new Error(`${body}: message ${JSON.stringify(a.text)}`);
      },
      150,
    );
  });

  await t.test('extra fields are ignored', async (t) => {
    const extra = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['name', 'namespace', 'value', 'rawValue', 'replicas', 'serviceName', 'labels', 'annotations', '__proto__'].includes(k)),
      fc.jsonValue({ maxDepth: 3 }),
      { minKeys: 1, maxKeys: 5 },
    );
    await property(
      t,
      'secret create/delete with extra keys',
      extra,
      async (x) => {
        let a = await sendJson(gw, 'POST /system/secrets', 'POST', '/system/secrets', JSON.stringify({ ...x, name: 'fz-extra', value: 'v' }));
        expectAnswer(a, [201], `create ${JSON.stringify(x).slice(0, 200)}`);
        a = await sendJson(gw, 'DELETE /system/secrets', 'DELETE', '/system/secrets', JSON.stringify({ ...x, name: 'fz-extra' }));
        expectAnswer(a, [202], `delete ${JSON.stringify(x).slice(0, 200)}`);
      },
      40,
    );
    await property(
      t,
      'scale with extra keys',
      extra,
      async (x) => {
        const a = await sendJson(gw, 'POST /system/scale-function', 'POST', `/system/scale-function/${FN}`, JSON.stringify({ ...x, serviceName: FN, replicas: 1 }));
        expectAnswer(a, [202], `scale ${JSON.stringify(x).slice(0, 200)}`);
      },
      40,
    );
  });

  await t.test('bodies over max_body_bytes are 413 (Content-Length and chunked)', async (t) => {
    const targets = [
      ...ROUTES.map((r) => [r.group, r.method, r.path] as const),
      ['POST /system/alert', 'POST', '/system/alert'] as const,
      ['POST /async-function/NAME', 'POST', `/async-function/${FN}`] as const,
    ];
    await property(
      t,
      'huge bodies',
      fc.tuple(fc.constantFrom(...targets), fc.integer({ min: 1, max: 2 * MAX_BODY_BYTES }), fc.boolean()),
      async ([[group, method, path], extraBytes, chunked]) => {
        const text = `{"name":"${'a'.repeat(MAX_BODY_BYTES + extraBytes)}"}`;
        const body = chunked
          ? (async function* () {
              for (let i = 0; i < text.length; i += 65_536) yield Buffer.from(text.slice(i, i + 65_536));
            })()
          : text;
        let a: Answer;
        try {
          a = await call(gw, method, path, { body: body as string, headers: JSON_HEADERS });
        } catch (err) {
          // The gateway may answer 413 and close before the upload ends.
          const code = (err as { code?: string }).code;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
            tally.add(group, 'hang');
            throw err;
          }
          tally.add(group, 'closed');
          return;
        }
        tally.add(group, a.status);
        expectAnswer(a, [413], `${group} ${text.length} bytes chunked=${chunked}`);
      },
      60,
    );
  });

  await t.test('100,000-level nesting does not crash any route', async (t) => {
    const depth = 100_000;
    const arrays = '['.repeat(depth) + ']'.repeat(depth);
    const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const docs: Record<string, string> = {
      arrays,
      objects,
      'in labels': `{"service":"fz-deep","image":"x","labels":${objects}}`,
      'in envVars': `{"service":"fz-deep","image":"x","envVars":{"a":${arrays}}}`,
      'as alerts': `{"alerts":${arrays}}`,
      'in alert labels': `{"alerts":[{"status":"firing","labels":{"function_name":${objects}}}]}`,
      'in secret value': `{"name":"fz-deep","value":${arrays}}`,
    };
    const targets = [...ROUTES.map((r) => [r.group, r.method, r.path] as const), ['POST /system/alert', 'POST', '/system/alert'] as const];
    for (const [group, method, path] of targets) {
      for (const [kind, doc] of Object.entries(docs)) {
        const a = await sendJson(gw, group, method, path, doc);
        // Namespaces ignore unknown keys; alerts without a usable function_name are a no-op (200).
        const allowed = group.includes('namespace') ? [202, 400, 404, 409] : group.includes('alert') ? [200, 400] : [400, 404];
        t.ok(allowed.includes(a.status), `${group} ${kind}: ${a.status} ${a.text.slice(0, 120).trim()}`);
        if (!gw.alive()) break;
      }
    }
    t.ok(gw.alive(), 'still running after the deep documents');
  });

  const rssAfter = await settledRssKiB(gw);
  await checkUnharmed(t, gw);
  // Megabyte bodies and 100,000-level documents grow V8's heap once (about 40-55 MiB here); it then stays.
  checkRss(t, rssBefore, rssAfter, 96);
  for (const line of tally.lines()) t.comment(line);
  t.comment(`crashes=0 RSS before=${rssBefore} KiB after=${rssAfter} KiB seed=${seed}`);
});
