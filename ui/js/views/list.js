/**
 * Function list for one namespace, refreshed every few seconds. Rows are
 * keyed by name and updated in place, so focus and scroll survive refreshes.
 */
import { h, setText, relativeTime, fmtNumber } from '../dom.js';
import { badge, banner, metricKey, poller, statusOf } from './common.js';

export function mountList(root, ctx) {
  const { api, ns } = ctx;
  const flash = ctx.takeFlash();
  const status = h('div', { class: 'status-area' }, flash ? banner('ok', flash) : null);
  const updated = h('span', { class: 'muted small', 'aria-live': 'off' }, '');
  const filter = h('input', { type: 'search', id: 'fn-filter', placeholder: 'Filter by name or image', autocomplete: 'off' });
  const tbody = h('tbody');
  const count = h('span', { class: 'count muted' }, '');
  const empty = h(
    'div',
    { class: 'empty', hidden: true },
    h('p', {}, `No functions in namespace ${ns || 'default'}.`),
    h('a', { class: 'btn primary', href: ctx.routeHash('deploy', { ns }) }, 'Deploy a function'),
  );
  const table = h(
    'table',
    { class: 'fn-table', id: 'functions-table' },
    h('caption', { class: 'visually-hidden' }, `Functions in namespace ${ns || 'default'}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col', class: 'num' }, 'Replicas'),
        h('th', { scope: 'col', class: 'num' }, 'Invocations'),
        h('th', { scope: 'col', class: 'num' }, 'Rate'),
        h('th', { scope: 'col' }, 'Image'),
        h('th', { scope: 'col' }, 'Created'),
      ),
    ),
    tbody,
  );

  const tableWrap = h('div', { class: 'table-wrap' }, table);
  root.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Functions ', count),
      h('div', { class: 'page-actions' }, updated, h('a', { class: 'btn primary', href: ctx.routeHash('deploy', { ns }) }, 'Deploy function')),
    ),
    status,
    h('div', { class: 'toolbar' }, h('label', { for: 'fn-filter' }, 'Filter'), filter),
    tableWrap,
    empty,
  );

  /** @type {Map<string, {tr: HTMLElement, cells: Record<string, HTMLElement>, fn: any}>} */
  const rows = new Map();
  let functions = [];

  const makeRow = (fn) => {
    const cells = {
      status: h('td'),
      replicas: h('td', { class: 'num' }),
      invocations: h('td', { class: 'num' }),
      rate: h('td', { class: 'num' }),
      image: h('td', { class: 'mono' }),
      created: h('td'),
    };
    const link = h('a', { href: ctx.routeHash('detail', { name: fn.name, ns }) }, fn.name);
    const tr = h(
      'tr',
      { 'data-function': fn.name },
      h('th', { scope: 'row' }, link),
      cells.status,
      cells.replicas,
      cells.invocations,
      cells.rate,
      cells.image,
      cells.created,
    );
    return { tr, cells, fn };
  };

  const fill = (row) => {
    const { fn, cells } = row;
    const st = statusOf(fn);
    if (cells.status.dataset.state !== st.text) {
      cells.status.replaceChildren(badge(st));
      cells.status.dataset.state = st.text;
    }
    setText(cells.replicas, `${fn.availableReplicas ?? 0}/${fn.replicas ?? 0}`);
    setText(cells.invocations, fmtNumber(fn.invocationCount ?? 0));
    const latest = ctx.metrics.latest(metricKey(fn.name, fn.namespace || ns));
    setText(cells.rate, latest ? `${fmtNumber(latest.rate)}/s` : '—');
    setText(cells.image, fn.image ?? '');
    const created = fn.createdAt ?? '';
    const time = cells.created.firstElementChild ?? cells.created.appendChild(h('time'));
    time.setAttribute('datetime', created);
    time.setAttribute('title', created);
    setText(time, relativeTime(created));
  };

  const renderRows = () => {
    const q = filter.value.trim().toLowerCase();
    const visible = functions.filter((f) => !q || f.name.includes(q) || (f.image ?? '').toLowerCase().includes(q));
    const seen = new Set();
    let prev = null;
    for (const fn of visible) {
      seen.add(fn.name);
      let row = rows.get(fn.name);
      if (!row) {
        row = makeRow(fn);
        rows.set(fn.name, row);
      }
      row.fn = fn;
      fill(row);
      // Keep DOM order equal to list order without re-inserting unchanged rows.
      const expected = prev ? prev.nextSibling : tbody.firstChild;
      if (expected !== row.tr) tbody.insertBefore(row.tr, expected);
      prev = row.tr;
    }
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    setText(count, `(${visible.length}${visible.length !== functions.length ? ` of ${functions.length}` : ''})`);
    empty.hidden = functions.length !== 0;
    tableWrap.hidden = functions.length === 0;
  };

  let failing = false;
  const refresh = async () => {
    try {
      const list = await api.listFunctions(ns);
      functions = list.slice().sort((a, b) => a.name.localeCompare(b.name));
      if (failing) status.replaceChildren();
      failing = false;
      renderRows();
      setText(updated, `Updated ${new Date().toLocaleTimeString('en-GB')}`);
      root.dataset.loaded = 'true';
    } catch (err) {
      failing = true;
      status.replaceChildren(banner('error', `Could not list functions: ${err.message}`));
    }
  };

  filter.addEventListener('input', renderRows);
  const stopPolling = poller(refresh, ctx.pollMs);
  const unsubscribe = ctx.metrics.subscribe(() => {
    for (const row of rows.values()) fill(row);
  });

  return {
    unmount() {
      stopPolling();
      unsubscribe();
    },
  };
}
