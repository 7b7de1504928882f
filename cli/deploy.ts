/**
 * Deploying stack functions through a Provider, the way `faas-cli deploy`
 * would through the gateway: the same FunctionDeployment body (fprocess from
 * the stack, else from the template), PUT-or-POST semantics via
 * provider.deploy(), and nothing sent when the function already runs with the
 * same spec and its bundle did not change.
 */
import type { FunctionDeployment, FunctionResources, FunctionStatus, Provider } from '../provider/index.js';
import { CliError } from './errors.js';
import { buildImageName, type StackFunction } from './stack.js';

/** The FunctionDeployment faas-cli would send for `fn`. */
export function toDeployment(fn: StackFunction, templateFprocess?: string): FunctionDeployment {
  const spec: FunctionDeployment = {
    service: fn.name,
    image: fn.image,
    labels: { ...fn.labels },
    annotations: { ...fn.annotations },
  };
  if (fn.namespace) spec.namespace = fn.namespace;
  const fprocess = fn.fprocess ?? templateFprocess;
  if (fprocess) spec.envProcess = fprocess;
  if (Object.keys(fn.environment).length > 0) spec.envVars = { ...fn.environment };
  if (fn.secrets.length > 0) spec.secrets = [...fn.secrets];
  if (fn.constraints.length > 0) spec.constraints = [...fn.constraints];
  if (fn.limits) spec.limits = { ...fn.limits };
  if (fn.requests) spec.requests = { ...fn.requests };
  if (fn.readOnlyRootFilesystem) spec.readOnlyRootFilesystem = true;
  return spec;
}

function sameMap(a: Record<string, string> | null | undefined, b: Record<string, string> | null | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => Object.hasOwn(y, k) && x[k] === y[k]);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function sameResources(a: FunctionResources | null | undefined, b: FunctionResources | null | undefined): boolean {
  return sameMap(a as Record<string, string> | undefined, b as Record<string, string> | undefined);
}

/** Keys providers add on their own (faasd, faas-netes, provider-local); not part of the user's spec. */
const PROVIDER_LABELS = new Set(['faas_function', 'uid']);
const PROVIDER_ANNOTATIONS = new Set(['prometheus.io.scrape']);

function withoutKeys(m: Record<string, string> | null | undefined, drop: Set<string>, keep: Record<string, string> | null | undefined) {
  if (!m) return m;
  return Object.fromEntries(Object.entries(m).filter(([k]) => !drop.has(k) || Object.hasOwn(keep ?? {}, k)));
}

/** True when `status` already describes `spec` (so deploying again would change nothing). */
export function matchesSpec(status: FunctionStatus, spec: FunctionDeployment): boolean {
  return (
    buildImageName(status.image) === buildImageName(spec.image) &&
    (status.envProcess ?? '') === (spec.envProcess ?? '') &&
    sameMap(status.envVars, spec.envVars) &&
    sameMap(withoutKeys(status.labels, PROVIDER_LABELS, spec.labels), spec.labels) &&
    sameMap(withoutKeys(status.annotations, PROVIDER_ANNOTATIONS, spec.annotations), spec.annotations) &&
    sameList(status.secrets, spec.secrets) &&
    sameList(status.constraints, spec.constraints) &&
    sameResources(status.limits, spec.limits) &&
    sameResources(status.requests, spec.requests) &&
    Boolean(status.readOnlyRootFilesystem) === Boolean(spec.readOnlyRootFilesystem)
  );
}

export type DeployOutcome = 'created' | 'updated' | 'unchanged';

export interface DeployResult {
  readonly name: string;
  readonly namespace: string;
  readonly outcome: DeployOutcome;
}

/**
 * Deploy one function unless it already runs with the same spec. `bundleChanged`
 * forces a redeploy so running replicas pick up new files.
 */
export async function deployFunction(
  provider: Provider,
  spec: FunctionDeployment,
  bundleChanged: boolean,
): Promise<DeployResult> {
  const namespace = spec.namespace ?? provider.defaultNamespace;
  let existing: FunctionStatus | undefined;
  try {
    existing = await provider.get(spec.service, spec.namespace);
  } catch (err) {
    throw new CliError('CLI_ERR_DEPLOY', `function ${spec.service}: cannot read current state: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (existing && !bundleChanged && matchesSpec(existing, spec)) {
    return { name: spec.service, namespace, outcome: 'unchanged' };
  }
  try {
    await provider.deploy(spec);
  } catch (err) {
    throw new CliError('CLI_ERR_DEPLOY', `function ${spec.service}: ${(err as Error).message}`, { cause: err });
  }
  return { name: spec.service, namespace, outcome: existing ? 'updated' : 'created' };
}
