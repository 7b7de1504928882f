/**
 * Environment of the standalone swarm provider (main.ts), parsed once. Names follow
 * upstream faas-swarm / faas-provider where one exists (spec §3.1).
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `port` | 8080 | faas-provider HTTP port |
 * | `bind_address` | 0.0.0.0 | listen address |
 * | `read_timeout`, `write_timeout` | 10s | Go durations (`5m5s`) or seconds |
 * | `basic_auth` | false | protect /system/* with the credentials below |
 * | `secret_mount_path` | /run/secrets/ | folder with `basic-auth-user` and `basic-auth-password` |
 * | `docker_socket` | /var/run/docker.sock | Engine API socket |
 * | `functions_network` | func_functions | overlay network of the functions |
 * | `endpoint_mode` | auto | `dnsrr-hostport`, `tasks-dns`, `vip`, or auto (see config.ts) |
 * | `gateway_in_swarm` | true | for auto: the gateway reaches functions over the overlay |
 * | `dnsrr` | — | upstream's flag; `true` = `tasks-dns` when endpoint_mode is unset |
 * | `publish_host` | 127.0.0.1 | host of the published ports in dnsrr-hostport mode |
 * | `default_namespace` | openfaas-fn | |
 * | `restart_delay` | 5s | swarm restart delay of function tasks |
 */
import type { EndpointMode } from './spec.js';

export interface SwarmMainConfig {
  port: number;
  bindAddress: string;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  basicAuth: boolean;
  secretMountPath: string;
  dockerSocket: string;
  network: string;
  endpointMode: EndpointMode | undefined;
  gatewayInSwarm: boolean;
  publishHost: string;
  defaultNamespace: string | undefined;
  restartDelayMs: number;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `5m5s`, `250ms`, or plain seconds; undefined when it does not parse. */
export function parseDuration(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total);
}

export function loadSwarmMainConfig(env: Record<string, string | undefined>): SwarmMainConfig {
  const problems: string[] = [];
  const str = (k: string, d: string) => (env[k] === undefined || env[k] === '' ? d : env[k]!);
  const dur = (k: string, d: number) => {
    if (env[k] === undefined || env[k] === '') return d;
    const ms = parseDuration(env[k]!);
    if (ms === undefined) problems.push(`${k}: not a duration: ${JSON.stringify(env[k])} (e.g. 10s, 5m5s, or seconds)`);
    return ms ?? d;
  };
  const bool = (k: string, d: boolean) => (env[k] === undefined || env[k] === '' ? d : env[k] === 'true');
  const port = Number(str('port', '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`port: 0-65535, got ${JSON.stringify(env.port)}`);
  let endpointMode: EndpointMode | undefined;
  const em = str('endpoint_mode', 'auto');
  if (em === 'dnsrr-hostport' || em === 'tasks-dns' || em === 'vip') endpointMode = em;
  else if (em !== 'auto') problems.push(`endpoint_mode: dnsrr-hostport, tasks-dns, vip or auto, got ${JSON.stringify(em)}`);
  else if (env.dnsrr === 'true') endpointMode = 'tasks-dns';
  const config: SwarmMainConfig = {
    port,
    bindAddress: str('bind_address', '0.0.0.0'),
    readTimeoutMs: dur('read_timeout', 10_000),
    writeTimeoutMs: dur('write_timeout', 10_000),
    basicAuth: bool('basic_auth', false),
    secretMountPath: str('secret_mount_path', '/run/secrets/'),
    dockerSocket: str('docker_socket', '/var/run/docker.sock'),
    network: str('functions_network', 'func_functions'),
    endpointMode,
    gatewayInSwarm: bool('gateway_in_swarm', true),
    publishHost: str('publish_host', '127.0.0.1'),
    defaultNamespace: env.default_namespace || undefined,
    restartDelayMs: dur('restart_delay', 5000),
  };
  if (problems.length > 0) throw new Error(`invalid environment: ${problems.join('; ')}`);
  return config;
}
