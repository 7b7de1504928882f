/**
 * Render the shipped deploy/prometheus/*.yml for a given installation:
 * targets, webhook URL, credentials file and (optionally) shorter timings.
 * The YAML is parsed and the named fields replaced, so the rendered files
 * are the shipped ones with only those values changed. Tests use it to run
 * Debian's prometheus + alertmanager against a gateway on a loopback port;
 * operators can use it to run them beside `faas-ts up` (deploy/prometheus/README.md).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { shippedMonitoringDir } from './config.js';

export const SHIPPED_DIR = shippedMonitoringDir();

export interface MonitoringOptions {
  /** host:port of the gateway's metrics port. */
  gatewayMetrics: string;
  /** host:port of Alertmanager, as Prometheus reaches it. */
  alertmanager: string;
  /** Gateway base URL, as Alertmanager reaches it (`/system/alert` is appended). */
  gatewayUrl: string;
  /** Basic-auth user and password file for the webhook; omit both to send no credentials. */
  username?: string;
  passwordFile?: string;
  /** Timing overrides (Prometheus duration strings, e.g. `1s`). */
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Replaces every rule's `for:`. */
  ruleFor?: string;
  /** Replaces every `[window]` range in rule expressions. */
  rateWindow?: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Keep only these scrape jobs (default: gateway only; the others need a real cluster). */
  jobs?: string[];
}

// The YAML documents are edited in place by key; their shape is the shipped files'.
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function readShipped(name: string): Doc {
  return parse(readFileSync(join(SHIPPED_DIR, name), 'utf8')) as Doc;
}

export function renderPrometheus(o: MonitoringOptions, ruleFiles: string[]): string {
  const doc = readShipped('prometheus.yml');
  if (o.scrapeInterval) doc.global.scrape_interval = o.scrapeInterval;
  if (o.evaluationInterval) doc.global.evaluation_interval = o.evaluationInterval;
  doc.rule_files = ruleFiles;
  doc.alerting.alertmanagers = [{ static_configs: [{ targets: [o.alertmanager] }] }];
  const jobs = new Set(o.jobs ?? ['gateway']);
  doc.scrape_configs = (doc.scrape_configs as Doc[])
    .filter((j) => jobs.has(j.job_name))
    .map((j) => {
      if (j.job_name === 'gateway') j.static_configs = [{ targets: [o.gatewayMetrics] }];
      if (o.scrapeInterval) j.scrape_interval = o.scrapeInterval;
      return j;
    });
  return stringify(doc);
}

export function renderRules(name: string, o: Pick<MonitoringOptions, 'ruleFor' | 'rateWindow'>): string {
  const doc = readShipped(name);
  for (const g of doc.groups as Doc[]) {
    for (const r of g.rules as Doc[]) {
      if (o.ruleFor && r.for !== undefined) r.for = o.ruleFor;
      if (o.rateWindow) r.expr = String(r.expr).replace(/\[[0-9smhdwy]+\]/g, `[${o.rateWindow}]`);
    }
  }
  return stringify(doc);
}

export function renderAlertmanager(o: MonitoringOptions): string {
  const doc = readShipped('alertmanager.yml');
  if (o.groupWait) doc.route.group_wait = o.groupWait;
  if (o.groupInterval) doc.route.group_interval = o.groupInterval;
  if (o.repeatInterval) doc.route.repeat_interval = o.repeatInterval;
  for (const r of doc.receivers as Doc[]) {
    for (const w of r.webhook_configs ?? []) {
      w.url = `${o.gatewayUrl.replace(/\/$/, '')}/system/alert`;
      if (o.passwordFile) w.http_config = { basic_auth: { username: o.username ?? 'admin', password_file: o.passwordFile } };
      else delete w.http_config;
    }
  }
  return stringify(doc);
}

/** Write prometheus.yml, alert.rules.yml and alertmanager.yml into `dir`; returns their paths. */
export function writeMonitoringConfig(dir: string, o: MonitoringOptions): { prometheus: string; alertmanager: string; rules: string } {
  mkdirSync(dir, { recursive: true });
  const rules = join(dir, 'alert.rules.yml');
  writeFileSync(rules, renderRules('alert.rules.yml', o));
  const prometheus = join(dir, 'prometheus.yml');
  writeFileSync(prometheus, renderPrometheus(o, [rules]));
  const alertmanager = join(dir, 'alertmanager.yml');
  writeFileSync(alertmanager, renderAlertmanager(o));
  return { prometheus, alertmanager, rules };
}
