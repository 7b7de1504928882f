/**
 * Function detail: summary and configuration, scale / delete, a live chart
 * from the gateway's metrics, an invoke panel and a live log panel.
 * Everything started here (polling, the log stream, requests) stops on unmount.
 */
import { h, setText, relativeTime, fmtNumber } from '../dom.js';
import { checkDns1123Label } from '../validate.js';
import { badge, banner, metricKey, poller, statusOf } from './common.js';
import { createChart } from '../chart.js';
import { mountInvoke } from './invoke.js';
import { mountLogs } from './logs.js';

const SCALE_PREFIX = 'com.openfaas.scale.';

export function mountDetail(root, ctx) {
  const { api, ns, route } = ctx;
  const name = route.name;
  const cleanups = [];
  const flash = ctx.takeFlash();

  if (checkDns1123Label(name)) {
    root.append(h('h1', {}, 'Function not found'), banner('error', `"${name}" is not a valid function name.`));
    return { unmount() {} };
  }

  const status = h('div', { class: 'status-area' }, flash ? banner('ok', flash) : null);
  const badgeSlot = h('span', { class: 'badge-slot', id: 'fn-status' });
  const scaleBtn = h('button', { type: 'button', class: 'btn', id: 'scale-button' }, 'Scale…');
  const deleteBtn = h('button', { type: 'button', class: 'btn danger', id: 'delete-button' }, 'Delete…');
  const summary = h('dl', { class: 'summary', id: 'fn-summary' });
  const config = h('div', { class: 'config-grid', id: 'fn-config' });

  const charts = [
    createChart({ key: 'rate', label: 'Invocations', unit: '/s', format: (v) => `${fmtNumber(v)}/s` }),
    createChart({ key: 'errorRate', label: 'Errors (non-2xx)', unit: '/s', format: (v) => `${fmtNumber(v)}/s`, className: 'errors' }),
    createChart({ key: 'latencyMs', label: 'Mean latency', unit: 'ms', format: (v) => `${fmtNumber(v, v < 10 ? 2 : 0)} ms`, className: 'latency' }),
    createChart({ key: 'replicas', label: 'Replicas', unit: '', format: (v) => fmtNumber(v), className: 'replicas' }),
  ];

  const invoke = mountInvoke({ api, name, ns, announce: ctx.announce });
  const logs = mountLogs({ api, name, ns });
  cleanups.push(() => invoke.unmount(), () => logs.unmount());

  root.append(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: ctx.routeHash('functions', { ns }) }, 'Functions'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page' }, name)),
    h(
      'div',
      { class: 'page-head' },
      h('div', { class: 'title' }, h('h1', {}, name), badgeSlot),
      h('div', { class: 'page-actions' }, scaleBtn, deleteBtn),
    ),
    status,
    h(
      'div',
      { class: 'detail-top' },
      h('section', { class: 'panel', 'aria-labelledby': 'summary-h' }, h('h2', { id: 'summary-h' }, 'Overview'), summary),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'chart-h', id: 'fn-chart' },
        h('h2', { id: 'chart-h' }, 'Live metrics ', h('span', { class: 'muted small' }, `(from the gateway's /metrics, every ${Math.round(ctx.metrics.intervalMs / 100) / 10} s)`)),
        h('div', { class: 'charts' }, charts.map((c) => c.el)),
      ),
    ),
    h('div', { class: 'detail-io' }, invoke.el, logs.el),
    h('section', { class: 'panel', 'aria-labelledby': 'config-h' }, h('h2', { id: 'config-h' }, 'Configuration'), config),
  );

  let fn;
  let configKey = '';

  const summaryRow = (label, value, attrs = {}) => [h('dt', {}, label), h('dd', attrs, value)];

  const renderSummary = () => {
    const st = statusOf(fn);
    if (badgeSlot.dataset.state !== st.text) {
      badgeSlot.replaceChildren(badge(st));
      badgeSlot.dataset.state = st.text;
    }
    const url = new URL(`function/${name}${ns ? `.${ns}` : ''}`, api.base).href;
    const created = fn.createdAt ?? '';
    summary.replaceChildren(
      ...summaryRow('Image', fn.image ?? '', { class: 'mono' }),
      ...summaryRow('Namespace', fn.namespace ?? (ns || 'default')),
      ...summaryRow('Replicas', `${fn.availableReplicas ?? 0} available / ${fn.replicas ?? 0} desired`, { id: 'fn-replicas' }),
      ...summaryRow('Invocations', fmtNumber(fn.invocationCount ?? 0), { id: 'fn-invocations' }),
      ...summaryRow('Created', h('time', { datetime: created, title: created }, relativeTime(created))),
      ...summaryRow('Process', fn.envProcess || '—', { class: 'mono' }),
      ...summaryRow('URL', h('code', {}, url)),
    );
  };

  const kvTable = (title, id, entries, emptyText) =>
    h(
      'section',
      { class: 'kv', 'aria-labelledby': `${id}-h` },
      h('h3', { id: `${id}-h` }, title),
      entries.length
        ? h(
            'table',
            { id },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
            h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, k), h('td', { class: 'mono' }, v)))),
          )
        : h('p', { class: 'muted', id }, emptyText),
    );

  const renderConfig = () => {
    const labels = Object.entries(fn.labels ?? {}).sort();
    const key = JSON.stringify([fn.labels, fn.annotations, fn.envVars, fn.secrets]);
    if (key === configKey) return;
    configKey = key;
    const scaling = labels.filter(([k]) => k.startsWith(SCALE_PREFIX));
    config.replaceChildren(
      kvTable('Scaling', 'fn-scaling', scaling, 'No com.openfaas.scale.* labels: min 1 replica, no upper limit beyond the gateway\'s.'),
      kvTable('Labels', 'fn-labels', labels.filter(([k]) => !k.startsWith(SCALE_PREFIX)), 'No labels.'),
      kvTable('Annotations', 'fn-annotations', Object.entries(fn.annotations ?? {}).sort(), 'No annotations.'),
      kvTable('Environment', 'fn-env', Object.entries(fn.envVars ?? {}).sort(), 'No environment variables.'),
      h(
        'section',
        { class: 'kv', 'aria-labelledby': 'fn-secrets-h' },
        h('h3', { id: 'fn-secrets-h' }, 'Secrets'),
        (fn.secrets ?? []).length
          ? h('ul', { class: 'chips', id: 'fn-secrets' }, fn.secrets.map((s) => h('li', { class: 'mono' }, s)))
          : h('p', { class: 'muted', id: 'fn-secrets' }, 'No secrets.'),
        h('p', { class: 'hint' }, 'Names only: secret values are never shown.'),
      ),
    );
  };

  let missing = false;
  const refresh = async () => {
    try {
      const got = await api.getFunction(name, ns);
      if (!got) {
        if (!missing) status.replaceChildren(banner('error', `Function ${name} was not found in namespace ${ns || 'default'}.`));
        missing = true;
        scaleBtn.disabled = true;
        deleteBtn.disabled = true;
        return;
      }
      if (missing) status.replaceChildren();
      missing = false;
      scaleBtn.disabled = false;
      deleteBtn.disabled = false;
      fn = got;
      renderSummary();
      renderConfig();
      root.dataset.loaded = 'true';
    } catch (err) {
      status.replaceChildren(banner('error', `Could not load ${name}: ${err.message}`));
    }
  };

  const drawCharts = () => {
    const points = ctx.metrics.series(metricKey(name, ns));
    const now = Date.now();
    for (const c of charts) c.update(points, now, ctx.metrics.windowMs);
  };
  drawCharts();
  cleanups.push(ctx.metrics.subscribe(drawCharts));
  cleanups.push(poller(refresh, ctx.pollMs));

  scaleBtn.addEventListener('click', async () => {
    if (!fn) return;
    const max = Number(fn.labels?.['com.openfaas.scale.max']);
    const answer = await ctx.confirm({
      title: `Scale ${name}`,
      message: `Currently ${fn.replicas ?? 0} desired replica(s). 0 scales to zero: the next invocation starts it again.`,
      confirmLabel: 'Scale',
      input: {
        label: 'Replicas',
        type: 'number',
        value: String(fn.replicas ?? 1),
        min: 0,
        max: Number.isFinite(max) && max > 0 ? max : undefined,
        hint: Number.isFinite(max) && max > 0 ? `At most ${max} (com.openfaas.scale.max).` : undefined,
        validate: (v) => (/^\d+$/.test(v.trim()) ? null : 'Enter a whole number of replicas (0 or more)'),
      },
    });
    if (!answer) return;
    const replicas = Number(answer.value.trim());
    try {
      await api.scale(name, ns, replicas);
      status.replaceChildren(banner('ok', `Scaling ${name} to ${replicas} replica(s).`));
      ctx.announce(`Scaling ${name} to ${replicas}`);
      await refresh();
    } catch (err) {
      status.replaceChildren(banner('error', `Scale failed: ${err.message}`));
    }
  });

  deleteBtn.addEventListener('click', async () => {
    const answer = await ctx.confirm({
      title: `Delete ${name}?`,
      message: `This removes ${name} from namespace ${ns || 'default'} and stops all of its replicas. It cannot be undone.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!answer) return;
    try {
      await api.remove(name, ns);
      ctx.announce(`Deleted ${name}`);
      ctx.navigate(ctx.routeHash('functions', { ns }), `Deleted ${name}.`);
    } catch (err) {
      status.replaceChildren(banner('error', `Delete failed: ${err.message}`));
    }
  });

  return {
    unmount() {
      for (const c of cleanups.splice(0)) c();
    },
  };
}
