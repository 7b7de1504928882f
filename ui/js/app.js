/**
 * The faas-ts web UI: a hash router over three views (function list,
 * function detail, deploy form), a namespace switcher and one shared
 * metrics scraper. The namespace is part of every route (`?ns=`), so views
 * can be bookmarked.
 */
import { createApi } from './api.js';
import { createMetricsHistory } from './metrics.js';
import { confirmDialog } from './dialog.js';
import { h } from './dom.js';
import { mountList } from './views/list.js';
import { mountDetail } from './views/detail.js';
import { mountDeploy } from './views/deploy.js';

/** Poll and scrape intervals; `?refresh=MS` in the page URL overrides them (min 250 ms). */
function intervals() {
  const raw = Number(new URLSearchParams(location.search).get('refresh'));
  const ms = Number.isFinite(raw) && raw >= 250 ? raw : 2000;
  return { pollMs: ms, scrapeMs: ms };
}

/** `#/function/NAME?ns=X` → { view, name, ns, params } */
export function parseRoute(hash) {
  const raw = hash.replace(/^#/, '') || '/functions';
  const [path, search = ''] = raw.split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const ns = params.get('ns') ?? undefined;
  if (parts[0] === 'function' && parts[1]) return { view: 'detail', name: parts[1], ns, params };
  if (parts[0] === 'deploy') return { view: 'deploy', ns, params };
  return { view: 'functions', ns, params };
}

export function routeHash(view, { name, ns } = {}) {
  const q = ns ? `?ns=${encodeURIComponent(ns)}` : '';
  if (view === 'detail') return `#/function/${encodeURIComponent(name)}${q}`;
  if (view === 'deploy') return `#/deploy${q}`;
  return `#/functions${q}`;
}

function start() {
  const api = createApi();
  const { pollMs, scrapeMs } = intervals();
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  const nsSelect = /** @type {HTMLSelectElement} */ (document.getElementById('namespace'));
  const announcer = /** @type {HTMLElement} */ (document.getElementById('announcer'));
  const info = /** @type {HTMLElement} */ (document.getElementById('gateway-info'));
  const metrics = createMetricsHistory({ fetchText: () => api.metricsText(), intervalMs: scrapeMs });

  const state = { namespaces: /** @type {string[]} */ ([]), defaultNs: '', current: /** @type {{unmount(): void} | null} */ (null), flash: '' };

  const announce = (message) => {
    // Clear first so repeating the same message is announced again.
    announcer.textContent = '';
    setTimeout(() => (announcer.textContent = message), 50);
  };

  const ctx = {
    api,
    metrics,
    pollMs,
    announce,
    confirm: confirmDialog,
    navigate(hash, flash = '') {
      state.flash = flash;
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    routeHash,
    get namespaces() {
      return state.namespaces;
    },
    /** Take (and clear) a one-shot message for the next view. */
    takeFlash() {
      const f = state.flash;
      state.flash = '';
      return f;
    },
    async refreshNamespaces() {
      await loadNamespaces();
    },
  };

  async function loadNamespaces() {
    try {
      state.namespaces = await api.namespaces();
    } catch (err) {
      state.namespaces = [];
      announce(`Could not list namespaces: ${err.message}`);
    }
    state.defaultNs = state.namespaces.includes('openfaas-fn') ? 'openfaas-fn' : (state.namespaces[0] ?? '');
    fillNamespaceSelect(parseRoute(location.hash).ns ?? state.defaultNs);
  }

  function fillNamespaceSelect(selected) {
    const names = state.namespaces.length ? [...state.namespaces] : [''];
    if (selected && !names.includes(selected)) names.push(selected);
    nsSelect.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === selected }, n || 'default')));
    nsSelect.value = selected;
  }

  nsSelect.addEventListener('change', () => {
    const route = parseRoute(location.hash);
    const next = route.view === 'deploy' ? 'deploy' : 'functions';
    location.hash = routeHash(next, { ns: nsSelect.value });
    announce(`Namespace ${nsSelect.value || 'default'}`);
  });

  function render() {
    const route = parseRoute(location.hash);
    const ns = route.ns ?? state.defaultNs;
    if (nsSelect.value !== ns) fillNamespaceSelect(ns);
    for (const a of document.querySelectorAll('[data-nav]')) {
      const el = /** @type {HTMLAnchorElement} */ (a);
      const view = el.dataset.nav;
      el.href = routeHash(view === 'deploy' ? 'deploy' : 'functions', { ns });
      if ((view === 'deploy') === (route.view === 'deploy') && route.view !== 'detail') el.setAttribute('aria-current', 'page');
      else el.removeAttribute('aria-current');
    }
    state.current?.unmount();
    main.replaceChildren();
    const view = route.view === 'detail' ? mountDetail : route.view === 'deploy' ? mountDeploy : mountList;
    state.current = view(main, { ...ctx, ns, route });
  }

  document.getElementById('skip-link')?.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });

  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/')) return;
    render();
    // Move focus to the new page's heading for keyboard and screen-reader users.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
    }
  });
  window.addEventListener('pagehide', () => {
    state.current?.unmount();
    metrics.stop();
  });

  api
    .info()
    .then((i) => {
      const p = i?.provider;
      info.textContent = `gateway ${i?.version?.release ?? '?'}${p ? ` · ${p.provider} (${p.orchestration})` : ''}`;
    })
    .catch(() => undefined);

  metrics.start();
  void loadNamespaces().then(render);
}

start();
