/**
 * Live logs: follows GET /system/logs?follow=true over a streamed fetch.
 * The gateway ends a followed stream at its write timeout, so the panel
 * reconnects with `since` = the last timestamp seen and skips the lines it
 * already shows. Leaving the page aborts the request.
 */
import { h, setText } from '../dom.js';

const MAX_LINES = 1000;

/** Order two RFC 3339 timestamps (precision may differ between providers). */
function compareTimestamps(a, b) {
  if (a === b) return 0;
  const x = Date.parse(a);
  const y = Date.parse(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function mountLogs({ api, name, ns }) {
  const list = h('ol', { class: 'log-lines', id: 'log-lines', role: 'log', 'aria-live': 'polite', 'aria-label': `Logs of ${name}`, tabindex: '0' });
  const state = h('span', { class: 'muted small', id: 'log-state' }, 'connecting…');
  const toggle = h('button', { type: 'button', class: 'btn', id: 'log-toggle', 'aria-pressed': 'false' }, 'Pause');
  const clear = h('button', { type: 'button', class: 'btn', id: 'log-clear' }, 'Clear');
  const el = h(
    'section',
    { class: 'panel logs', 'aria-labelledby': 'logs-h', id: 'logs-panel' },
    h('div', { class: 'panel-head' }, h('h2', { id: 'logs-h' }, 'Logs'), state, h('div', { class: 'panel-actions' }, toggle, clear)),
    list,
  );

  let controller = null;
  let paused = false;
  let closed = false;
  let lastTs = '';
  /** How many times each instance+text was shown at lastTs. */
  let atLastTs = new Map();
  /** After a reconnect with since=lastTs: the lines at that instant already shown, to skip once each. */
  let replay = null;
  let retryTimer;

  const add = (msg) => {
    const ts = typeof msg.timestamp === 'string' ? msg.timestamp : '';
    const key = `${msg.instance ?? ''}\u0000${msg.text ?? ''}`;
    if (replay && ts) {
      const order = compareTimestamps(ts, replay.ts);
      if (order < 0) return;
      if (order === 0) {
        const left = replay.keys.get(key) ?? 0;
        if (left > 0) {
          replay.keys.set(key, left - 1);
          return;
        }
      } else {
        replay = null;
      }
    }
    if (ts && ts !== lastTs) {
      lastTs = ts;
      atLastTs = new Map();
    }
    if (ts) atLastTs.set(key, (atLastTs.get(key) ?? 0) + 1);
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const time = ts ? new Date(ts) : null;
    list.append(
      h(
        'li',
        {},
        h('time', { datetime: ts, class: 'muted' }, time && !Number.isNaN(time.getTime()) ? time.toLocaleTimeString('en-GB') : ''),
        ' ',
        h('span', { class: 'log-instance muted', title: msg.instance ?? '' }, msg.instance ?? ''),
        ' ',
        h('span', { class: 'log-text' }, msg.text ?? ''),
      ),
    );
    while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
    if (nearBottom) list.scrollTop = list.scrollHeight;
  };

  const follow = async () => {
    if (closed || paused) return;
    controller = new AbortController();
    const mine = controller;
    replay = lastTs ? { ts: lastTs, keys: new Map(atLastTs) } : null;
    setText(state, 'following');
    el.dataset.state = 'following';
    el.dataset.connections = String(Number(el.dataset.connections ?? 0) + 1);
    try {
      for await (const msg of api.logs({ name, ns, follow: true, tail: lastTs ? undefined : 100, since: lastTs || undefined, signal: mine.signal })) {
        add(msg);
      }
      if (mine.signal.aborted) return;
      setText(state, 'reconnecting…');
    } catch (err) {
      if (mine.signal.aborted) return;
      setText(state, `disconnected: ${err.message}; retrying`);
      el.dataset.state = 'error';
    }
    if (!closed && !paused) retryTimer = setTimeout(follow, 1000);
  };

  toggle.addEventListener('click', () => {
    paused = !paused;
    toggle.setAttribute('aria-pressed', String(paused));
    setText(toggle, paused ? 'Resume' : 'Pause');
    if (paused) {
      clearTimeout(retryTimer);
      controller?.abort();
      setText(state, 'paused');
      el.dataset.state = 'paused';
    } else {
      void follow();
    }
  });
  clear.addEventListener('click', () => list.replaceChildren());

  void follow();
  return {
    el,
    unmount() {
      closed = true;
      clearTimeout(retryTimer);
      controller?.abort();
    },
  };
}
