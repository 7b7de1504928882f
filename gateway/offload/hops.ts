/**
 * Hop accounting between layers. Every forwarded call carries how many
 * offload hops it has made so far and the names of the layers it went
 * through; a layer never forwards a call that already made `maxHops` hops,
 * which bounds chains and stops loops (A → B → A ...).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Request header: offload hops made so far (absent = 0). */
export const HOPS_HEADER = 'x-faas-ts-hops';
/** Request header: comma-separated names of the layers the call went through. */
export const PATH_HEADER = 'x-faas-ts-path';
/** Response header: the layer that ran the call. */
export const LAYER_HEADER = 'x-faas-ts-layer';
/** Response header: `layer=reason` for every layer that sent the call up, nearest first. */
export const OFFLOAD_HEADER = 'x-faas-ts-offload';

export interface Hops {
  /** Hops the call made before reaching this layer. */
  readonly count: number;
  /** Layers it went through, oldest first. */
  readonly path: readonly string[];
  /** True when the header was present but not a small non-negative integer. */
  readonly invalid: boolean;
}

/** Layer names kept from an incoming path (the newest): a client cannot make the header grow without bound. */
export const MAX_PATH_ENTRIES = 16;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Hops of an incoming call. A malformed count is treated as `invalid` (never forwarded again). */
export function incomingHops(headers: IncomingHttpHeaders): Hops {
  const raw = single(headers[HOPS_HEADER]);
  const pathRaw = single(headers[PATH_HEADER]);
  const path = pathRaw
    ? pathRaw
        .slice(-64 * MAX_PATH_ENTRIES)
        .split(',')
        .map((s) => s.trim().slice(0, 64))
        .filter((s) => s !== '')
        .slice(-MAX_PATH_ENTRIES)
    : [];
  if (raw === undefined) return { count: 0, path, invalid: false };
  const v = raw.trim();
  if (!/^\d{1,4}$/.test(v)) return { count: 0, path, invalid: true };
  return { count: Number(v), path, invalid: false };
}

/** True when this layer may still forward the call upward. */
export function mayForward(hops: Hops, maxHops: number): boolean {
  return !hops.invalid && hops.count < maxHops;
}

/** Header values to send upward from layer `layer`. */
export function outgoingHops(hops: Hops, layer: string): { count: string; path: string } {
  return { count: String(hops.count + 1), path: [...hops.path, layer].join(',') };
}
