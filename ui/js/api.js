/**
 * Gateway client for the UI. URLs are resolved against the gateway root,
 * found relative to this module (ui/js/api.js → ../../), so the UI also works
 * when the gateway sits behind a path prefix.
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 = network error)
   * @param {string} message the gateway's text, trimmed
   */
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** Split `fn.ns` style or pass name + namespace; the gateway accepts `fn.ns` on /function. */
function qualified(name, ns) {
  return ns ? `${name}.${ns}` : name;
}

/**
 * @param {URL | string} [root] gateway root URL
 */
export function createApi(root = new URL('../../', import.meta.url)) {
  const base = new URL(root);

  const url = (path, query) => {
    const u = new URL(path.replace(/^\//, ''), base);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return u;
  };

  /** A /system/* call; throws ApiError on a non-2xx answer. */
  async function system(method, path, { query, body, signal } = {}) {
    let res;
    try {
      res = await fetch(url(path, query), {
        method,
        signal,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, `cannot reach the gateway (${err && err.message ? err.message : err})`);
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).trim();
      throw new ApiError(res.status, text || `${res.status} ${res.statusText}`);
    }
    return res;
  }

  const json = async (res) => {
    const text = await res.text();
    return text.trim() === '' ? undefined : JSON.parse(text);
  };

  return {
    base,

    /** @returns {Promise<string[]>} namespaces; [] when the provider has none */
    async namespaces() {
      try {
        const list = await json(await system('GET', 'system/namespaces'));
        return Array.isArray(list) ? list.filter((n) => typeof n === 'string') : [];
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 501)) return [];
        throw err;
      }
    },

    async info({ signal } = {}) {
      return json(await system('GET', 'system/info', { signal }));
    },

    /** @returns {Promise<any[]>} FunctionStatus[] */
    async listFunctions(ns, { signal } = {}) {
      const list = await json(await system('GET', 'system/functions', { query: { namespace: ns }, signal }));
      return Array.isArray(list) ? list : [];
    },

    /** @returns {Promise<any | undefined>} FunctionStatus, or undefined when absent (404) */
    async getFunction(name, ns, { signal } = {}) {
      try {
        return await json(
          await system('GET', `system/function/${encodeURIComponent(name)}`, { query: { namespace: ns }, signal }),
        );
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    },

    /** POST a FunctionDeployment (create). */
    async deploy(spec) {
      await system('POST', 'system/functions', { body: spec });
    },

    async remove(name, ns) {
      await system('DELETE', 'system/functions', { body: ns ? { functionName: name, namespace: ns } : { functionName: name } });
    },

    async scale(name, ns, replicas) {
      const body = { serviceName: name, replicas };
      if (ns) body.namespace = ns;
      await system('POST', `system/scale-function/${encodeURIComponent(name)}`, { query: { namespace: ns }, body });
    },

    /** @returns {Promise<{name: string, namespace?: string}[]>} */
    async secrets(ns) {
      try {
        const list = await json(await system('GET', 'system/secrets', { query: { namespace: ns } }));
        return Array.isArray(list) ? list : [];
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 501)) return [];
        throw err;
      }
    },

    /** The gateway's Prometheus exposition text (GET /metrics, no credentials needed). */
    async metricsText({ signal } = {}) {
      const res = await fetch(url('metrics'), { signal, credentials: 'omit', cache: 'no-store' });
      if (!res.ok) throw new ApiError(res.status, `metrics: ${res.status}`);
      return res.text();
    },

    /**
     * Invoke a function. The admin credentials are deliberately not sent
     * (credentials: 'omit'): the gateway forwards Authorization to functions.
     * @returns {Promise<{status: number, statusText: string, headers: [string, string][], body: string, truncated: boolean, durationMs: number}>}
     */
    async invoke({ name, ns, method = 'POST', path = '', query = '', headers = {}, body, async: isAsync = false, signal }) {
      const prefix = isAsync ? 'async-function' : 'function';
      let sub = path.trim();
      if (sub && !sub.startsWith('/')) sub = `/${sub}`;
      const u = new URL(`${prefix}/${encodeURIComponent(qualified(name, ns))}${sub}`, base);
      const q = query.trim().replace(/^\?/, '');
      if (q) u.search = q;
      const m = isAsync ? 'POST' : method.toUpperCase();
      const started = performance.now();
      const res = await fetch(u, {
        method: m,
        headers,
        body: m === 'GET' || m === 'HEAD' ? undefined : body,
        credentials: 'omit',
        signal,
        redirect: 'manual',
      });
      if (res.type === 'opaqueredirect') {
        // Browsers hide redirect responses from scripts; say so instead of showing status 0.
        return { status: 0, statusText: 'redirect (not followed; a browser hides its status and Location)', headers: [], body: '', truncated: false, durationMs: performance.now() - started };
      }
      const limit = 256 * 1024;
      const text = await res.text();
      const durationMs = performance.now() - started;
      return {
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers.entries()],
        body: text.length > limit ? text.slice(0, limit) : text,
        truncated: text.length > limit,
        durationMs,
      };
    },

    /**
     * Stream log messages (NDJSON) until the server ends the stream or
     * `signal` aborts. Yields parsed LogMessage objects.
     * @param {{name: string, ns?: string, follow?: boolean, tail?: number, since?: string, signal?: AbortSignal}} opts
     */
    async *logs({ name, ns, follow = true, tail, since, signal }) {
      const res = await system('GET', 'system/logs', {
        query: { name, namespace: ns, follow: String(follow), tail, since },
        signal,
      });
      if (!res.body) return;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += value;
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            try {
              yield JSON.parse(line);
            } catch {
              yield { text: line };
            }
          }
        }
        if (buffered.trim()) {
          try {
            yield JSON.parse(buffered);
          } catch {
            yield { text: buffered.trim() };
          }
        }
      } finally {
        reader.cancel().catch(() => undefined);
      }
    },
  };
}
