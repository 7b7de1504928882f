/**
 * Resource quantities → Docker's integer units.
 *
 * Memory accepts Docker's units (`128m`, `1g`, `512k`, optional `b`, binary multiples,
 * case-insensitive, as upstream faas-swarm) and Kubernetes' (`128Mi`, `1Gi`, `500M`),
 * or plain bytes.
 *
 * CPU: upstream faas-swarm reads a plain integer as NanoCPUs (`"100000000"` = 0.1 CPU).
 * We keep that for integers >= 1000 and also accept Kubernetes quantities that
 * OpenFaaS stack files carry: `100m` (millicores) and cores (`0.5`, `2`).
 */
import { ProviderError } from '../provider/index.js';

const DOCKER_MEMORY = /^(\d+(?:\.\d+)?)\s*([kmgtp])?b?$/i;
const K8S_MEMORY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P|E|Ei)?$/;
const BINARY: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const K8S: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** Bytes for a memory quantity; INVALID naming `field` when it does not parse. */
export function parseMemoryBytes(field: string, value: string): number {
  const v = value.trim();
  const k = K8S_MEMORY.exec(v);
  if (k) {
    // "128M" is ambiguous: Kubernetes reads decimal, Docker binary. A capital single
    // letter is how Kubernetes quantities are written; Docker's CLI examples use lower case.
    return Math.floor(Number(k[1]) * (k[2] ? K8S[k[2]]! : 1));
  }
  const d = DOCKER_MEMORY.exec(v);
  if (d) return Math.floor(Number(d[1]) * (d[2] ? BINARY[d[2].toLowerCase()]! : 1));
  throw ProviderError.invalid(`${field} ${JSON.stringify(value)} is not a memory quantity (e.g. 128m, 128Mi, 134217728)`);
}

/** NanoCPUs for a CPU quantity; INVALID naming `field` when it does not parse. */
export function parseNanoCpus(field: string, value: string): number {
  const v = value.trim();
  const milli = /^(\d+(?:\.\d+)?)m$/.exec(v);
  if (milli) return Math.round(Number(milli[1]) * 1e6);
  if (/^\d+$/.test(v) && Number(v) >= 1000) return Number(v);
  if (/^\d+(?:\.\d+)?$/.test(v)) return Math.round(Number(v) * 1e9);
  throw ProviderError.invalid(`${field} ${JSON.stringify(value)} is not a CPU quantity (e.g. 100m, 0.5, 2, or NanoCPUs 100000000)`);
}
