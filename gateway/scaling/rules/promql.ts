/**
 * The PromQL subset the embedded rule engine evaluates. Accepted forms (any
 * spacing, `by` before or after the aggregated expression):
 *
 *   sum by (L) (rate(METRIC{MATCHERS}[WINDOW])) OP THRESHOLD
 *   sum(rate(METRIC{MATCHERS}[WINDOW])) by (L) OP THRESHOLD
 *   sum by (L) (METRIC{MATCHERS}) OP THRESHOLD          (a gauge, e.g. in-flight)
 *   sum(METRIC{MATCHERS}) by (L) OP THRESHOLD
 *
 * MATCHERS: `label="v"`, `!=`, `=~`, `!~` (regex fully anchored, as in
 * Prometheus). OP: `>`, `>=`, `<`, `<=`, `==`, `!=`. WINDOW: a Prometheus
 * duration (`10s`, `1m`, `1m30s`). `L` is one or more label names; the engine
 * scales by the `function_name` label. Anything else is rejected.
 */
export type Op = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  regex?: RegExp;
}

export interface RuleQuery {
  metric: string;
  matchers: Matcher[];
  /** rate() window in ms; undefined = instant gauge value. */
  windowMs: number | undefined;
  by: string[];
  op: Op;
  threshold: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABELS = '\\(\\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\\s*,\\s*[a-zA-Z_][a-zA-Z0-9_]*)*)\\s*\\)';
const SELECTOR = `(${NAME})\\s*(\\{[^}]*\\})?`;
const INNER = `(?:rate\\s*\\(\\s*${SELECTOR}\\s*\\[\\s*([0-9smhdwy]+)\\s*\\]\\s*\\)|${SELECTOR})`;
const CMP = '(>=|<=|==|!=|>|<)\\s*(-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?)';
const BY_FIRST = new RegExp(`^sum\\s+by\\s*${LABELS}\\s*\\(\\s*${INNER}\\s*\\)\\s*${CMP}$`, 'i');
const BY_LAST = new RegExp(`^sum\\s*\\(\\s*${INNER}\\s*\\)\\s*by\\s*${LABELS}\\s*${CMP}$`, 'i');

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration (`1m30s`, `10s`, `500ms`) in ms, or undefined. */
export function promDurationMs(text: string): number | undefined {
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

function parseMatchers(text: string | undefined): Matcher[] {
  if (!text) return [];
  const body = text.slice(1, -1).trim();
  if (body === '') return [];
  const out: Matcher[] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) throw new Error(`bad label matcher near ${JSON.stringify(body.slice(pos))}`);
    const value = JSON.parse(`"${m[3]}"`) as string;
    const op = m[2] as Matcher['op'];
    out.push({ label: m[1]!, op, value, ...(op === '=~' || op === '!~' ? { regex: new RegExp(`^(?:${value})$`) } : {}) });
    pos = re.lastIndex;
  }
  return out;
}

export class RuleSyntaxError extends Error {
  readonly code = 'GW_ERR_RULE_UNSUPPORTED';
}

/** Parse one rule expression; `rule` names the rule in the error. */
export function parseRuleExpr(expr: string, rule: string): RuleQuery {
  const text = expr.replace(/\s+/g, ' ').trim();
  let m = BY_FIRST.exec(text);
  let by: string | undefined;
  let rest: Array<string | undefined>;
  if (m) {
    by = m[1];
    rest = m.slice(2);
  } else {
    m = BY_LAST.exec(text);
    if (!m) {
      throw new RuleSyntaxError(
        `rule ${rule}: unsupported expression ${JSON.stringify(expr)}; the embedded engine accepts ` +
          '`sum by (label) (rate(metric{...}[window])) > N` or `sum by (label) (gauge{...}) > N` (see gateway/scaling/rules/promql.ts)',
      );
    }
    rest = m.slice(1, 6);
    by = m[6];
    rest.push(m[7], m[8]);
  }
  // rest: rateMetric, rateMatchers, window, gaugeMetric, gaugeMatchers, op, threshold
  const [rateMetric, rateMatchers, window, gaugeMetric, gaugeMatchers, op, threshold] = rest;
  let windowMs: number | undefined;
  if (rateMetric) {
    windowMs = promDurationMs(window ?? '');
    if (!windowMs) throw new RuleSyntaxError(`rule ${rule}: bad range ${JSON.stringify(window)}`);
  }
  let matchers: Matcher[];
  try {
    matchers = parseMatchers(rateMetric ? rateMatchers : gaugeMatchers);
  } catch (err) {
    throw new RuleSyntaxError(`rule ${rule}: ${(err as Error).message}`);
  }
  return {
    metric: (rateMetric ?? gaugeMetric)!,
    matchers,
    windowMs,
    by: by!.split(',').map((s) => s.trim()),
    op: op as Op,
    threshold: Number(threshold),
  };
}

export function matches(labels: Record<string, string | number>, matchers: Matcher[]): boolean {
  for (const m of matchers) {
    const v = labels[m.label] === undefined ? '' : String(labels[m.label]);
    const ok = m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : m.regex!.test(v);
    if (ok === (m.op === '!~')) return false;
  }
  return true;
}

export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
