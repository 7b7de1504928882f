/**
 * Live logs: follows GET /system/logs?follow=true over a streamed fetch.
 * The gateway ends a followed stream at its write timeout, so the panel
 * reconnects with `since` = the last timestamp seen and skips the lines it
 * already shows. Leaving the page aborts the request.
 */
import { h, setText } from '../dom.js';

const MAX_LINES = 1000;

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
  /** Keys of the lines at lastTs, to skip them after a reconnect with since=lastTs. */
  let atLastTs = new Set();
  let retryTimer;

  const add = (msg) => {
    const ts = typeof msg.timestamp === 'string' ? msg.timestamp : '';
    const key = `${msg.instance ?? ''}\u0000${msg.text ?? ''}`;
    if (ts && lastTs) {
      if (ts < lastTs) return;
      if (ts === lastTs && atLastTs.has(key)) return;
    }
    if (ts && ts !== lastTs) {
      lastTs = ts;
      atLastTs = new Set();
    }
    if (ts) atLastTs.add(key);
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
    setText(state, 'following');
    el.dataset.state = 'following';
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
