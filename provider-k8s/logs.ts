/**
 * Function logs from pods/log: one stream per pod (instance = pod name),
 * requested with `timestamps=true`, merged into LogMessages. Without follow
 * the lines of all pods are sorted by time and `tail` applies to the merged
 * result; with follow lines are emitted as they arrive until `signal` aborts
 * or every pod stream ends.
 */
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { LogMessage, LogRequest } from '../provider/index.js';

export interface PodRef {
  name: string;
  container: string;
}

/** Split `2026-01-01T00:00:00.123456789Z text` into RFC 3339 time and text. */
export function parseLogLine(line: string): { timestamp: string; text: string } {
  const sp = line.indexOf(' ');
  const ts = sp > 0 ? line.slice(0, sp) : '';
  if (ts && !Number.isNaN(Date.parse(ts))) return { timestamp: ts, text: line.slice(sp + 1) };
  return { timestamp: new Date().toISOString(), text: line };
}

/** Sortable key for RFC 3339 timestamps with up to nanosecond precision. */
function timeKey(ts: string): string {
  const m = ts.match(/^(.*?)(?:\.(\d+))?Z$/);
  if (!m) return ts;
  return `${new Date(`${m[1]}Z`).toISOString().slice(0, 19)}.${(m[2] ?? '').padEnd(9, '0')}`;
}

class Queue<T> {
  private items: T[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  push(v: T): void {
    this.items.push(v);
    this.waiter?.();
  }
  end(): void {
    this.ended = true;
    this.waiter?.();
  }
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (this.ended) return;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }
}

/**
 * GET pods/log as a stream we can destroy. client-node's Log pipes a web
 * stream whose abort surfaces as an unhandled 'error' event, so we make the
 * request ourselves with the KubeConfig's TLS and auth options.
 */
async function openPodLog(kc: KubeConfig, namespace: string, pod: string, query: URLSearchParams): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the KubeConfig');
  const url = new URL(`${cluster.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query}`);
  const opts: RequestOptions & { rejectUnauthorized?: boolean } = { method: 'GET', headers: {} };
  await kc.applyToHTTPSOptions(opts as never);
  const plain = url.protocol === 'http:';
  if (plain) delete opts.agent;
  return new Promise((resolve, reject) => {
    const req = (plain ? httpRequest : httpsRequest)(url, opts, (res) => {
      if (res.statusCode === 200) return resolve(res);
      res.resume();
      reject(Object.assign(new Error(`pods/log ${pod}: HTTP ${res.statusCode}`), { code: res.statusCode }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function* podLogs(
  kc: KubeConfig,
  namespace: string,
  pods: PodRef[],
  req: LogRequest,
  signal: AbortSignal,
  /** Follow only: reports pods that become Running later; returns a stop function. */
  watchPods?: (onPod: (pod: PodRef) => void) => () => void,
): AsyncGenerator<LogMessage> {
  const query = new URLSearchParams({ timestamps: 'true' });
  if (req.follow) query.set('follow', 'true');
  if (req.tail !== undefined && req.tail > 0) query.set('tailLines', String(req.tail));
  // sinceTime has second precision on the wire; lines are filtered again below.
  if (req.since) query.set('sinceTime', req.since.toISOString().replace(/\.\d+Z$/, 'Z'));
  const sinceKey = req.since ? timeKey(req.since.toISOString()) : undefined;
  const queue = new Queue<LogMessage>();
  const responses: IncomingMessage[] = [];
  const streaming = new Set<string>();
  // With a pod source (follow), the stream stays open for pods that start later.
  const live = req.follow === true && watchPods !== undefined;
  let open = 0;
  const finish = () => {
    if (--open === 0 && !live) queue.end();
  };
  const onAbort = () => {
    for (const r of responses) r.destroy();
    queue.end();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const add = (pod: PodRef, params: URLSearchParams) => {
    if (streaming.has(pod.name) || signal.aborted) return;
    streaming.add(pod.name);
    open++;
    const sink = new PassThrough();
    const lines = createInterface({ input: sink, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line === '') return;
      const { timestamp, text } = parseLogLine(line);
      if (sinceKey && timeKey(timestamp) < sinceKey) return;
      queue.push({ name: req.name, namespace, instance: pod.name, timestamp, text });
    });
    lines.on('close', finish);
    const q = new URLSearchParams(params);
    q.set('container', pod.container);
    openPodLog(kc, namespace, pod.name, q).then(
      (res) => {
        responses.push(res);
        if (signal.aborted) res.destroy();
        res.on('error', () => sink.end());
        res.on('close', () => sink.end());
        res.pipe(sink);
      },
      () => sink.end(), // pod gone between list and log: no lines from it
    );
  };
  for (const pod of pods) add(pod, query);
  if (pods.length === 0 && !live) queue.end();
  // Pods started after the request: their whole log, followed.
  const later = new URLSearchParams({ timestamps: 'true', follow: 'true' });
  const stopWatching = live ? watchPods((pod) => add(pod, later)) : undefined;
  try {
    if (req.follow) {
      for await (const m of queue.drain()) yield m;
      return;
    }
    const all: LogMessage[] = [];
    for await (const m of queue.drain()) all.push(m);
    all.sort((a, b) => (timeKey(a.timestamp) < timeKey(b.timestamp) ? -1 : timeKey(a.timestamp) > timeKey(b.timestamp) ? 1 : 0));
    const start = req.tail !== undefined && req.tail > 0 ? Math.max(0, all.length - req.tail) : 0;
    for (const m of all.slice(start)) yield m;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stopWatching?.();
    for (const r of responses) r.destroy();
  }
}
