/** Small request helpers shared by the /system route plugins. */
import type { FastifyRequest } from 'fastify';
import { assertDns1123Label } from '../../provider/index.js';

/** A query parameter; for repeated parameters the last one wins (upstream). */
export function queryParam(request: FastifyRequest, key: string): string | undefined {
  const q = request.query as Record<string, string | string[] | undefined> | undefined;
  const v = q?.[key];
  if (Array.isArray(v)) return v[v.length - 1];
  return v;
}

/** undefined for absent/empty (provider default); otherwise must be a DNS-1123 label. */
export function optionalNamespace(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  assertDns1123Label('namespace', value);
  return value;
}

/** Drop a JSON schema's `$id` so one schema can serve several routes. */
export function bodySchema<T extends { $id?: string }>(schema: T): Omit<T, '$id'> {
  const { $id: _ignored, ...rest } = schema;
  return rest;
}
