/**
 * Embedded rule engine: evaluates Prometheus alerting rules (the PromQL subset
 * in promql.ts) over the gateway's own prom-client Registry, and hands
 * firing/resolved alerts to the same AlertHandler as POST /system/alert.
 *
 * Each tick (evalIntervalMs):
 * 1. sample every metric the rules use (counter samples are kept for the
 *    longest window; a series seen for the first time is taken to have been
 *    0 at the previous tick, which is true for the gateway's own counters);
 * 2. per rule, compute `sum by (...)` of rate() or the gauge, compare;
 * 3. a result that holds for `for:` fires (sent at once, then again every
 *    repeatIntervalMs like Alertmanager's repeat_interval); a firing result
 *    that no longer holds is sent once as resolved.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { AlertHandler, AlertPayload } from '../alert-handler.js';
import { compare, matches, parseRuleExpr, promDurationMs, RuleSyntaxError, type RuleQuery } from './promql.js';

export interface AlertRule {
  alert: string;
  query: RuleQuery;
  forMs: number;
  labels: Record<string, string>;
}

/** Load the alerting rules of a Prometheus rule file (recording rules are rejected). */
export function loadRules(text: string, source = 'rules'): AlertRule[] {
  const doc = parseYaml(text) as { groups?: Array<{ name?: string; rules?: Array<Record<string, unknown>> }> } | null;
  if (!doc || !Array.isArray(doc.groups)) throw new RuleSyntaxError(`${source}: no "groups" list`);
  const out: AlertRule[] = [];
  for (const g of doc.groups) {
    for (const r of g.rules ?? []) {
      const name = typeof r.alert === 'string' ? r.alert : typeof r.record === 'string' ? `record ${r.record}` : '?';
      if (typeof r.alert !== 'string') throw new RuleSyntaxError(`rule ${name} in ${source}: only alerting rules are supported`);
      if (typeof r.expr !== 'string') throw new RuleSyntaxError(`rule ${name} in ${source}: expr must be a string`);
      let forMs = 0;
      if (r.for !== undefined) {
        const ms = promDurationMs(String(r.for));
        if (ms === undefined) throw new RuleSyntaxError(`rule ${name} in ${source}: bad for: ${JSON.stringify(r.for)}`);
        forMs = ms;
      }
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries((r.labels as Record<string, unknown> | undefined) ?? {})) labels[k] = String(v);
      out.push({ alert: r.alert, query: parseRuleExpr(r.expr, name), forMs, labels });
    }
  }
  return out;
}

export function loadRulesFile(path: string): AlertRule[] {
  return loadRules(readFileSync(path, 'utf8'), path);
}

export interface RuleEngineOptions {
  rules: AlertRule[];
  registry: Registry;
  handler: AlertHandler;
  evalIntervalMs: number;
  repeatIntervalMs: number;
  logger?: Logger;
  now?: () => number;
}

interface Point {
  t: number;
  v: number;
}

interface AlertState {
  activeSince: number;
  firing: boolean;
  lastSent: number;
  labels: Record<string, string>;
}

export interface RuleEngine {
  /** Run one evaluation now (the timer calls this too). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

export function createRuleEngine(opts: RuleEngineOptions): RuleEngine {
  const now = opts.now ?? Date.now;
  const metrics = [...new Set(opts.rules.map((r) => r.query.metric))];
  const keepMs = Math.max(0, ...opts.rules.map((r) => r.query.windowMs ?? 0)) + opts.evalIntervalMs;
  const history = new Map<string, { labels: Record<string, string | number>; points: Point[] }>();
  const states = new Map<string, AlertState>();
  let lastTick: number | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  async function sample(t: number): Promise<Map<string, Array<{ labels: Record<string, string | number>; value: number }>>> {
    const current = new Map<string, Array<{ labels: Record<string, string | number>; value: number }>>();
    for (const name of metrics) {
      const metric = opts.registry.getSingleMetric(name);
      if (!metric) {
        current.set(name, []);
        continue;
      }
      const got = await metric.get();
      const values = got.values
        .filter((s) => (s as { metricName?: string }).metricName === undefined || (s as { metricName?: string }).metricName === name)
        .map((s) => ({ labels: s.labels as Record<string, string | number>, value: s.value }));
      current.set(name, values);
      for (const s of values) {
        const key = `${name}${JSON.stringify(s.labels)}`;
        let h = history.get(key);
        if (!h) {
          h = { labels: s.labels, points: lastTick !== undefined ? [{ t: lastTick, v: 0 }] : [] };
          history.set(key, h);
        }
        h.points.push({ t, v: s.value });
        while (h.points.length > 2 && h.points[0]!.t < t - keepMs) h.points.shift();
      }
    }
    return current;
  }

  function rate(points: Point[], windowMs: number, t: number): number | undefined {
    const inWindow = points.filter((p) => p.t >= t - windowMs);
    if (inWindow.length < 2) return undefined;
    let increase = 0;
    for (let i = 1; i < inWindow.length; i++) {
      const d = inWindow[i]!.v - inWindow[i - 1]!.v;
      increase += d >= 0 ? d : inWindow[i]!.v; // counter reset
    }
    const span = (inWindow.at(-1)!.t - inWindow[0]!.t) / 1000;
    return span > 0 ? increase / span : undefined;
  }

  function evaluate(rule: AlertRule, current: Map<string, Array<{ labels: Record<string, string | number>; value: number }>>, t: number) {
    const sums = new Map<string, { labels: Record<string, string>; value: number }>();
    const add = (labels: Record<string, string | number>, value: number) => {
      const group: Record<string, string> = {};
      for (const l of rule.query.by) if (labels[l] !== undefined) group[l] = String(labels[l]);
      const key = JSON.stringify(group);
      const s = sums.get(key);
      if (s) s.value += value;
      else sums.set(key, { labels: group, value });
    };
    const { query } = rule;
    if (query.windowMs === undefined) {
      for (const s of current.get(query.metric) ?? []) if (matches(s.labels, query.matchers)) add(s.labels, s.value);
    } else {
      for (const [key, h] of history) {
        if (!key.startsWith(`${query.metric}{`) || !matches(h.labels, query.matchers)) continue;
        const r = rate(h.points, query.windowMs, t);
        if (r !== undefined) add(h.labels, r);
      }
    }
    return [...sums.values()].filter((s) => compare(s.value, query.op, query.threshold));
  }

  async function tick(): Promise<void> {
    const t = now();
    const current = await sample(t);
    lastTick = t;
    const toSend: AlertPayload['alerts'] = [];
    for (const rule of opts.rules) {
      const active = new Set<string>();
      for (const result of evaluate(rule, current, t)) {
        const key = `${rule.alert}${JSON.stringify(result.labels)}`;
        active.add(key);
        let st = states.get(key);
        if (!st) {
          st = { activeSince: t, firing: false, lastSent: 0, labels: { ...result.labels, ...rule.labels, alertname: rule.alert } };
          states.set(key, st);
        }
        if (!st.firing && t - st.activeSince >= rule.forMs) {
          st.firing = true;
          st.lastSent = t;
          toSend.push({ status: 'firing', labels: st.labels });
          opts.logger?.info({ alertname: rule.alert, labels: st.labels }, 'embedded rule firing');
        } else if (st.firing && t - st.lastSent >= opts.repeatIntervalMs) {
          st.lastSent = t;
          toSend.push({ status: 'firing', labels: st.labels });
        }
      }
      for (const [key, st] of states) {
        if (!key.startsWith(`${rule.alert}{`) || active.has(key)) continue;
        states.delete(key);
        if (st.firing) {
          toSend.push({ status: 'resolved', labels: st.labels });
          opts.logger?.info({ alertname: rule.alert, labels: st.labels }, 'embedded rule resolved');
        }
      }
    }
    // Drop series no longer exported (e.g. after a registry reset).
    for (const [key, h] of history) if (h.points.at(-1)!.t < t - keepMs) history.delete(key);
    if (toSend.length > 0) {
      const errors = await opts.handler.handle({ status: 'firing', receiver: 'embedded', alerts: toSend }, 'rule');
      for (const e of errors) opts.logger?.warn({ err: e }, 'embedded alert scale failed');
    }
  }

  const timer = setInterval(() => {
    if (running || closed) return;
    running = tick()
      .catch((err) => opts.logger?.error({ err: (err as Error).message }, 'rule evaluation failed'))
      .finally(() => {
        running = undefined;
      });
  }, opts.evalIntervalMs);
  timer.unref();

  return {
    tick,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
