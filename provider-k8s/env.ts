/**
 * faas-netes-style env variables → options for the provider-k8s server
 * (main.ts). Parsed once; every problem is reported in one error.
 *
 *   port (8081), bind_address (0.0.0.0), function_namespace (openfaas-fn),
 *   image_pull_policy (Always), http_probe (true), set_nonroot_user (false),
 *   endpoint_mode (endpointslices | service), cluster_domain (cluster.local),
 *   discover_namespaces (true), allowed_namespaces (comma list),
 *   readiness_probe_initial_delay_seconds / _timeout_seconds / _period_seconds,
 *   read_timeout / write_timeout (Go durations or seconds, default 10s),
 *   basic_auth (false), secret_mount_path (/var/secrets): files basic-auth-user
 *   and basic-auth-password, as upstream.
 */
import { ProviderError } from '../provider/index.js';
import type { K8sProviderOptions } from './config.js';

export interface K8sServerEnvConfig {
  port: number;
  host: string;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  basicAuth: boolean;
  secretMountPath: string;
  provider: Omit<K8sProviderOptions, 'kubeConfig' | 'cluster' | 'logger'>;
}

type Env = Record<string, string | undefined>;

function duration(problems: string[], name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']!;
    consumed = re.lastIndex;
  }
  if (consumed !== v.length || consumed === 0) {
    problems.push(`${name}: not a duration: ${JSON.stringify(v)} (e.g. "10s", "5m5s" or seconds)`);
    return dflt;
  }
  return total;
}

function bool(problems: string[], name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  problems.push(`${name}: expected true or false, got ${JSON.stringify(v)}`);
  return dflt;
}

function int(problems: string[], name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) {
    problems.push(`${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return Number(v);
}

export function loadK8sServerEnv(env: Env): K8sServerEnvConfig {
  const problems: string[] = [];
  const port = int(problems, 'port', env.port) ?? 8081;
  if (port > 65535) problems.push(`port: out of range: ${port}`);
  const pull = env.image_pull_policy || 'Always';
  if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) problems.push(`image_pull_policy: expected Always, IfNotPresent or Never, got ${JSON.stringify(pull)}`);
  const mode = env.endpoint_mode || 'endpointslices';
  if (mode !== 'endpointslices' && mode !== 'service') problems.push(`endpoint_mode: expected endpointslices or service, got ${JSON.stringify(mode)}`);
  const cfg: K8sServerEnvConfig = {
    port,
    host: env.bind_address || '0.0.0.0',
    readTimeoutMs: duration(problems, 'read_timeout', env.read_timeout, 10_000),
    writeTimeoutMs: duration(problems, 'write_timeout', env.write_timeout, 10_000),
    basicAuth: bool(problems, 'basic_auth', env.basic_auth, false),
    secretMountPath: env.secret_mount_path || '/var/secrets',
    provider: {
      functionNamespace: env.function_namespace || 'openfaas-fn',
      imagePullPolicy: pull as 'Always',
      setNonRootUser: bool(problems, 'set_nonroot_user', env.set_nonroot_user, false),
      endpointMode: mode as 'endpointslices',
      clusterDomain: env.cluster_domain || 'cluster.local',
      namespaces: {
        discover: bool(problems, 'discover_namespaces', env.discover_namespaces, true),
        allowed: (env.allowed_namespaces ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      },
      probes: {
        type: bool(problems, 'http_probe', env.http_probe, true) ? 'http' : 'exec',
        initialDelaySeconds: int(problems, 'readiness_probe_initial_delay_seconds', env.readiness_probe_initial_delay_seconds),
        timeoutSeconds: int(problems, 'readiness_probe_timeout_seconds', env.readiness_probe_timeout_seconds),
        periodSeconds: int(problems, 'readiness_probe_period_seconds', env.readiness_probe_period_seconds),
      },
      version: { release: env.VERSION || 'dev', sha: env.GIT_SHA || 'dev' },
    },
  };
  if (problems.length > 0) throw new ProviderError('INVALID', `invalid provider-k8s environment: ${problems.join('; ')}`);
  return cfg;
}
