/** Pieces shared by the views. */
import { h } from '../dom.js';

/** Ready / starting / scaled-to-zero badge from a FunctionStatus. */
export function statusOf(fn) {
  const desired = fn.replicas ?? 0;
  const available = fn.availableReplicas ?? 0;
  if (desired === 0 && available === 0) return { text: 'Scaled to zero', kind: 'idle' };
  if (available >= 1 && available >= desired) return { text: 'Ready', kind: 'ok' };
  if (available >= 1) return { text: 'Scaling', kind: 'warn' };
  return { text: 'Not ready', kind: 'warn' };
}

export function badge(status) {
  return h('span', { class: `badge ${status.kind}` }, status.text);
}

export function banner(kind, text) {
  return h('p', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** `fn.ns` as the gateway's metrics label it. */
export function metricKey(name, ns) {
  return ns ? `${name}.${ns}` : name;
}

/** Repeat `task` every `ms` until stopped; never overlaps itself. */
export function poller(task, ms) {
  let timer;
  let stopped = false;
  const loop = async () => {
    if (stopped) return;
    try {
      await task();
    } finally {
      if (!stopped) timer = setTimeout(loop, ms);
    }
  };
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
