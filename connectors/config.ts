/**
 * Environment → typed, frozen connector config. Every problem is collected
 * and reported in one ConnectorError that names each bad variable. Names
 * follow the OpenFaaS connector convention (lower-case, gateway_url, …).
 */
import { ConnectorError, ConnectorErrorCodes } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface MqttConnectorConfig {
  readonly brokerUrl: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly passwordFile: string | undefined;
  readonly tlsCaFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly tlsInsecure: boolean;
  readonly clientId: string;
  readonly protocolVersion: 4 | 5;
  readonly cleanSession: boolean;
  readonly qos: 0 | 1;
  readonly gatewayUrl: string;
  readonly gatewayUser: string;
  readonly gatewayPassword: string | undefined;
  readonly gatewayPasswordFile: string | undefined;
  readonly mode: 'sync' | 'async';
  readonly refreshIntervalMs: number;
  readonly invokeTimeoutMs: number;
  readonly topicAnnotation: string;
  readonly replyTopicAnnotation: string;
  /** 0 = no metrics server. */
  readonly metricsPort: number;
  readonly logLevel: string;
}

export interface CoapConnectorConfig {
  readonly port: number;
  readonly host: string;
  readonly gatewayUrl: string;
  readonly invokeTimeoutMs: number;
  readonly metricsPort: number;
  readonly logLevel: string;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** "30s", "500ms", "2m", "1h" or plain seconds → ms; undefined when malformed. */
export function parseDurationMs(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    this.problems.push(`${name}: not a boolean: "${v}"`);
    return fallback;
  }

  port(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      this.problems.push(`${name}: not a port (0-65535): "${v}"`);
      return fallback;
    }
    return n;
  }

  duration(name: string, fallbackMs: number, minMs = 1): number {
    const v = this.str(name);
    if (v === undefined) return fallbackMs;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < minMs) {
      this.problems.push(`${name}: not a duration of at least ${minMs}ms (e.g. "10s", "500ms", or seconds): "${v}"`);
      return fallbackMs;
    }
    return ms;
  }

  url(name: string, fallback: string | undefined, protocols: string[]): string {
    const v = this.str(name) ?? fallback;
    if (v === undefined) {
      this.problems.push(`${name}: required (e.g. ${protocols[0]}//127.0.0.1)`);
      return '';
    }
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
    } catch {
      this.problems.push(`${name}: not a ${protocols.map((p) => p.replace(':', '')).join('/')} URL: "${v}"`);
    }
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name}: one of ${allowed.join(', ')}: "${v}"`);
      return fallback;
    }
    return v as T;
  }

  logLevel(): string {
    const v = this.str('log_level') ?? 'info';
    if (!LOG_LEVELS.has(v)) this.problems.push(`log_level: one of ${[...LOG_LEVELS].join(', ')}: "${v}"`);
    return v;
  }

  done<T extends object>(what: string, value: T): Readonly<T> {
    if (this.problems.length > 0) {
      throw new ConnectorError(ConnectorErrorCodes.CONFIG, `invalid ${what} configuration:\n  ${this.problems.join('\n  ')}`);
    }
    return Object.freeze(value);
  }
}

export function loadMqttConfig(env: Env): MqttConnectorConfig {
  const r = new Reader(env);
  const protocol = r.oneOf('mqtt_protocol', ['3.1.1', '5'] as const, '3.1.1');
  const qos = r.oneOf('mqtt_qos', ['0', '1'] as const, '1');
  return r.done('mqtt connector', {
    brokerUrl: r.url('broker_url', undefined, ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:']),
    username: r.str('mqtt_username'),
    password: r.str('mqtt_password'),
    passwordFile: r.str('mqtt_password_file'),
    tlsCaFile: r.str('mqtt_tls_ca_file'),
    tlsCertFile: r.str('mqtt_tls_cert_file'),
    tlsKeyFile: r.str('mqtt_tls_key_file'),
    tlsInsecure: r.bool('mqtt_tls_insecure', false),
    clientId: r.str('client_id') ?? 'faas-ts-mqtt-connector',
    protocolVersion: protocol === '5' ? 5 : 4,
    cleanSession: r.bool('mqtt_clean_session', true),
    qos: qos === '0' ? 0 : 1,
    gatewayUrl: r.url('gateway_url', 'http://127.0.0.1:8080', ['http:', 'https:']),
    gatewayUser: r.str('gateway_user') ?? 'admin',
    gatewayPassword: r.str('gateway_password'),
    gatewayPasswordFile: r.str('gateway_password_file'),
    mode: r.bool('asynchronous_invocation', false) ? 'async' : 'sync',
    refreshIntervalMs: r.duration('rebuild_interval', 10_000, 100),
    invokeTimeoutMs: r.duration('upstream_timeout', 60_000, 1),
    topicAnnotation: r.str('topic_annotation') ?? 'topic',
    replyTopicAnnotation: env['reply_topic_annotation']?.trim() ?? 'topic-reply',
    metricsPort: r.port('metrics_port', 0),
    logLevel: r.logLevel(),
  } satisfies MqttConnectorConfig);
}

export function loadCoapConfig(env: Env): CoapConnectorConfig {
  const r = new Reader(env);
  const host = r.str('coap_host') ?? '127.0.0.1';
  return r.done('coap endpoint', {
    port: r.port('coap_port', 5683),
    host,
    gatewayUrl: r.url('gateway_url', 'http://127.0.0.1:8080', ['http:', 'https:']),
    invokeTimeoutMs: r.duration('upstream_timeout', 60_000, 1),
    metricsPort: r.port('metrics_port', 0),
    logLevel: r.logLevel(),
  } satisfies CoapConnectorConfig);
}

/** True when the environment asks for the CoAP endpoint (it is off unless configured). */
export function coapConfigured(env: Env): boolean {
  return (env['coap_port'] ?? '').trim() !== '' || /^(1|true|yes|on)$/i.test((env['coap_enabled'] ?? '').trim());
}
