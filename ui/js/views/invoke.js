/** Invoke panel: build a request, send it sync or async, show the response. */
import { h, uid } from '../dom.js';

const METHODS = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** "Name: value" lines → headers object; returns an error for a bad line. */
export function parseHeaders(text) {
  const headers = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!key || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) return { headers, error: `Header line ${i + 1}: expected "Name: value"` };
    headers[key] = line.slice(colon + 1).trim();
  }
  return { headers, error: null };
}

function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null);
}

export function mountInvoke({ api, name, ns, announce }) {
  const method = h('select', { id: 'invoke-method', name: 'method' }, METHODS.map((m) => h('option', { value: m }, m)));
  const path = h('input', { id: 'invoke-path', name: 'path', type: 'text', placeholder: '/', autocomplete: 'off', spellcheck: 'false' });
  const query = h('input', { id: 'invoke-query', name: 'query', type: 'text', placeholder: 'a=1&b=2', autocomplete: 'off', spellcheck: 'false' });
  const headers = h('textarea', { id: 'invoke-headers', name: 'headers', rows: 2, placeholder: 'Content-Type: text/plain', spellcheck: 'false', 'aria-describedby': 'invoke-headers-error' });
  const headersError = h('p', { class: 'field-error', id: 'invoke-headers-error' });
  const body = h('textarea', { id: 'invoke-body', name: 'body', rows: 4, spellcheck: 'false' });
  const syncRadio = h('input', { type: 'radio', name: 'mode', value: 'sync', id: 'invoke-sync', checked: true });
  const asyncRadio = h('input', { type: 'radio', name: 'mode', value: 'async', id: 'invoke-async' });
  const callback = h('input', { id: 'invoke-callback', type: 'url', placeholder: 'http://127.0.0.1:9000/done', autocomplete: 'off' });
  const callbackField = field('Callback URL (optional)', callback, 'The result is POSTed here when the async call completes.');
  callbackField.hidden = true;
  const submit = h('button', { type: 'submit', class: 'btn primary', id: 'invoke-button' }, 'Invoke');
  const result = h('div', { class: 'invoke-result', id: 'invoke-result', 'aria-live': 'polite', 'aria-atomic': 'false' });

  const form = h(
    'form',
    { class: 'invoke-form', novalidate: true },
    h('div', { class: 'row' }, field('Method', method), h('div', { class: 'grow' }, field('Path', path))),
    field('Query string', query),
    h('div', {}, field('Headers', headers, 'One "Name: value" per line.'), headersError),
    field('Body', body),
    h(
      'fieldset',
      { class: 'inline' },
      h('legend', {}, 'Mode'),
      h('label', { for: 'invoke-sync' }, syncRadio, ' Synchronous'),
      h('label', { for: 'invoke-async' }, asyncRadio, ' Asynchronous (queued, 202)'),
    ),
    callbackField,
    h('div', { class: 'form-actions' }, submit),
  );

  const syncMode = () => {
    const isAsync = asyncRadio.checked;
    callbackField.hidden = !isAsync;
    method.disabled = isAsync;
    if (isAsync) method.value = 'POST';
  };
  syncRadio.addEventListener('change', syncMode);
  asyncRadio.addEventListener('change', syncMode);

  let controller = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const parsed = parseHeaders(headers.value);
    headersError.textContent = parsed.error ?? '';
    headers.toggleAttribute('aria-invalid', Boolean(parsed.error));
    if (parsed.error) {
      headers.focus();
      return;
    }
    if (asyncRadio.checked && callback.value.trim()) parsed.headers['X-Callback-Url'] = callback.value.trim();
    controller?.abort();
    controller = new AbortController();
    submit.disabled = true;
    submit.textContent = 'Invoking…';
    result.replaceChildren(h('p', { class: 'muted' }, 'Waiting for the response…'));
    try {
      const res = await api.invoke({
        name,
        ns,
        method: method.value,
        path: path.value,
        query: query.value,
        headers: parsed.headers,
        body: body.value,
        async: asyncRadio.checked,
        signal: controller.signal,
      });
      const ok = res.status >= 200 && res.status < 300;
      result.replaceChildren(
        h(
          'p',
          { class: 'response-line' },
          h('span', { class: `badge ${ok ? 'ok' : 'bad'}`, id: 'invoke-status' }, `${res.status} ${res.statusText}`),
          ' ',
          h('span', { id: 'invoke-duration' }, `${res.durationMs.toFixed(res.durationMs < 10 ? 1 : 0)} ms`),
        ),
        h('details', { class: 'response-headers' }, h('summary', {}, `Headers (${res.headers.length})`), h('pre', { id: 'invoke-headers-out' }, res.headers.map(([k, v]) => `${k}: ${v}`).join('\n'))),
        h('pre', { class: 'response-body', id: 'invoke-response', tabindex: '0', 'aria-label': 'Response body' }, res.body || (asyncRadio.checked ? '(queued: empty body)' : '(empty body)')),
      );
      if (res.truncated) result.append(h('p', { class: 'hint' }, 'Body truncated to 256 KiB.'));
      announce(`Response ${res.status} in ${Math.round(res.durationMs)} milliseconds`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      result.replaceChildren(h('p', { class: 'banner error', role: 'alert' }, `Request failed: ${err.message}`));
    } finally {
      submit.disabled = false;
      submit.textContent = 'Invoke';
    }
  });

  const el = h('section', { class: 'panel', 'aria-labelledby': 'invoke-h', id: 'invoke-panel' }, h('h2', { id: 'invoke-h' }, 'Invoke'), form, result);
  return {
    el,
    unmount() {
      controller?.abort();
    },
  };
}
