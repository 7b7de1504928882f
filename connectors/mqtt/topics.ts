/**
 * Topic bookkeeping for the MQTT connector: which functions want which topic
 * filters (the `topic` annotation, a comma-separated list, OpenFaaS
 * connector convention), filter matching, and the minimal set of filters to
 * subscribe so that overlapping filters never deliver a message twice.
 */
import type { FunctionStatus } from '../../provider/index.js';

/** One function that wants one topic filter. */
export interface Binding {
  /** Topic filter from the annotation (may contain + and #). */
  filter: string;
  /** NAME.NS as used on /function/NAME.NS */
  fn: string;
  /** Reply topic from the reply annotation, if any. */
  replyTopic?: string | undefined;
}

/** True when `filter` is a syntactically valid MQTT topic filter. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || Buffer.byteLength(filter) > 65535 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

/** The filters named by an annotation value: comma-separated, blanks trimmed, invalid ones dropped. */
export function parseTopicAnnotation(value: string | undefined): { filters: string[]; invalid: string[] } {
  const filters: string[] = [];
  const invalid: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const f = raw.trim();
    if (!f) continue;
    if (isValidFilter(f)) {
      if (!filters.includes(f)) filters.push(f);
    } else invalid.push(f);
  }
  return { filters, invalid };
}

/** MQTT matching of a concrete topic against a filter ($-topics only match filters that name them). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true;
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when every topic matched by `b` is also matched by `a`. */
export function filterCovers(a: string, b: string): boolean {
  const fa = a.split('/');
  const fb = b.split('/');
  for (let i = 0; i < fa.length; i++) {
    const la = fa[i]!;
    if (la === '#') return !(i === 0 && fb[0]!.startsWith('$'));
    if (i >= fb.length) return false;
    const lb = fb[i]!;
    if (lb === '#') return false;
    if (la === '+') {
      if (i === 0 && lb.startsWith('$')) return false;
      continue;
    }
    if (la !== lb) return false;
  }
  return fa.length === fb.length;
}

/** The filters to subscribe: each wanted filter not covered by another (ties broken by order). */
export function minimalFilters(filters: Iterable<string>): string[] {
  const unique = [...new Set(filters)].sort();
  return unique.filter((f, i) => !unique.some((g, j) => j !== i && filterCovers(g, f) && (!filterCovers(f, g) || j < i)));
}

/** Bindings for every function carrying the topic annotation. */
export function bindingsFor(
  functions: readonly FunctionStatus[],
  topicAnnotation: string,
  replyTopicAnnotation: string | undefined,
): { bindings: Binding[]; invalid: Array<{ fn: string; filter: string }> } {
  const bindings: Binding[] = [];
  const invalid: Array<{ fn: string; filter: string }> = [];
  for (const f of functions) {
    const ann = f.annotations ?? {};
    const value = ann[topicAnnotation];
    if (value === undefined) continue;
    const fn = f.namespace ? `${f.name}.${f.namespace}` : f.name;
    const parsed = parseTopicAnnotation(value);
    const reply = replyTopicAnnotation ? ann[replyTopicAnnotation]?.trim() || undefined : undefined;
    for (const filter of parsed.filters) bindings.push({ filter, fn, replyTopic: reply });
    for (const filter of parsed.invalid) invalid.push({ fn, filter });
  }
  bindings.sort((a, b) => (a.fn === b.fn ? a.filter.localeCompare(b.filter) : a.fn.localeCompare(b.fn)));
  return { bindings, invalid };
}
