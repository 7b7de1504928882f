/**
 * Live function metrics computed in the browser from the gateway's own
 * Prometheus exposition (GET /metrics): invocation rate, error rate
 * (non-2xx), mean latency and desired replicas per `fn.ns`, over a sliding
 * window.
 */

/**
 * Parse Prometheus text exposition into samples (comments skipped).
 * @param {string} text
 * @returns {{name: string, labels: Record<string, string>, value: number}[]}
 */
export function parsePrometheusText(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
    const name = line.slice(0, i);
    const labels = {};
    if (line[i] === '{') {
      i++;
      while (i < line.length && line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq < 0) break;
        const key = line.slice(i, eq).trim().replace(/^,/, '').trim();
        i = eq + 1;
        if (line[i] !== '"') break;
        i++;
        let value = '';
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < line.length) {
            const next = line[i + 1];
            value += next === 'n' ? '\n' : next;
            i += 2;
          } else {
            value += line[i++];
          }
        }
        i++; // closing quote
        labels[key] = value;
        while (line[i] === ',' || line[i] === ' ') i++;
      }
      i++; // closing brace
    }
    const rest = line.slice(i).trim().split(/\s+/);
    const value = parseValue(rest[0]);
    if (name && value !== undefined) out.push({ name, labels, value });
  }
  return out;
}

function parseValue(s) {
  if (s === undefined) return undefined;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * Sum the gateway series per function.
 * @returns {Map<string, {total: number, errors: number, secSum: number, secCount: number, replicas: number | null}>}
 */
export function aggregate(samples) {
  const byFn = new Map();
  const get = (fn) => {
    let a = byFn.get(fn);
    if (!a) {
      a = { total: 0, errors: 0, secSum: 0, secCount: 0, replicas: null };
      byFn.set(fn, a);
    }
    return a;
  };
  for (const s of samples) {
    const fn = s.labels.function_name;
    if (!fn) continue;
    if (s.name === 'gateway_function_invocation_total') {
      const a = get(fn);
      a.total += s.value;
      if (!/^2\d\d$/.test(s.labels.code ?? '')) a.errors += s.value;
    } else if (s.name === 'gateway_functions_seconds_sum') {
      get(fn).secSum += s.value;
    } else if (s.name === 'gateway_functions_seconds_count') {
      get(fn).secCount += s.value;
    } else if (s.name === 'gateway_service_count') {
      get(fn).replicas = s.value;
    }
  }
  return byFn;
}

/** Counter delta that treats a reset (gateway restart) as a fresh start. */
function delta(now, before) {
  return now >= before ? now - before : now;
}

/**
 * One point per scrape and function:
 * {t, rate (req/s), errorRate (req/s), latencyMs (mean over the interval, or null), replicas}.
 * @param {{ fetchText: () => Promise<string>, intervalMs?: number, windowMs?: number, now?: () => number }} opts
 */
export function createMetricsHistory({ fetchText, intervalMs = 2000, windowMs = 5 * 60_000, now = () => Date.now() }) {
  /** @type {Map<string, any[]>} */
  const series = new Map();
  const listeners = new Set();
  let previous; // { t, byFn }
  let timer;
  let running = false;
  let lastError = null;

  async function scrape() {
    let text;
    try {
      text = await fetchText();
      lastError = null;
    } catch (err) {
      lastError = err;
      return;
    }
    const t = now();
    const byFn = aggregate(parsePrometheusText(text));
    if (previous) {
      const dt = (t - previous.t) / 1000;
      if (dt > 0) {
        for (const [fn, cur] of byFn) {
          const before = previous.byFn.get(fn) ?? { total: 0, errors: 0, secSum: 0, secCount: 0 };
          const dCount = delta(cur.secCount, before.secCount);
          const point = {
            t,
            rate: delta(cur.total, before.total) / dt,
            errorRate: delta(cur.errors, before.errors) / dt,
            latencyMs: dCount > 0 ? (delta(cur.secSum, before.secSum) / dCount) * 1000 : null,
            replicas: cur.replicas,
          };
          let list = series.get(fn);
          if (!list) {
            list = [];
            series.set(fn, list);
          }
          list.push(point);
        }
      }
    }
    previous = { t, byFn };
    const cutoff = t - windowMs;
    for (const [fn, list] of series) {
      while (list.length && list[0].t < cutoff) list.shift();
      if (!list.length) series.delete(fn);
    }
    for (const cb of listeners) cb();
  }

  async function loop() {
    if (!running) return;
    await scrape();
    if (running) timer = setTimeout(loop, intervalMs);
  }

  return {
    intervalMs,
    windowMs,
    start() {
      if (running) return;
      running = true;
      void loop();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    /** Scrape once now (the loop calls this; tests may too). */
    scrape,
    /** Points for `fn.ns`, oldest first. */
    series(fn) {
      return series.get(fn) ?? [];
    },
    /** Latest point for `fn.ns`, if any. */
    latest(fn) {
      const list = series.get(fn);
      return list && list.length ? list[list.length - 1] : undefined;
    },
    get lastError() {
      return lastError;
    },
    /** Call `cb` after every scrape; returns an unsubscribe function. */
    subscribe(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
}
