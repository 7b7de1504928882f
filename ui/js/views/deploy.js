/**
 * Deploy form: POST /system/functions. Client-side checks run first and are
 * shown beside each field and in a summary; the gateway's 400 message is
 * shown too, beside the field it names when it names one.
 */
import { h } from '../dom.js';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkEnvKey,
  checkImage,
  checkLabelKey,
  parseCount,
  parseKeyValues,
} from '../validate.js';

function control(id, label, input, hint) {
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  input.id = id;
  input.setAttribute('aria-describedby', [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error);
  return { wrap, input, error };
}

export function mountDeploy(root, ctx) {
  const { api, ns } = ctx;
  const images = h('datalist', { id: 'image-options' });
  const f = {
    image: control('deploy-image', 'Image', h('input', { type: 'text', name: 'image', list: 'image-options', autocomplete: 'off', spellcheck: 'false', required: true }), 'A bundle in the local store (e.g. hello-node:latest) or a registry image on Swarm / Kubernetes.'),
    name: control('deploy-name', 'Name', h('input', { type: 'text', name: 'name', autocomplete: 'off', spellcheck: 'false', required: true }), 'Lower-case letters, digits and "-" (DNS-1123 label, at most 63).'),
    namespace: control(
      'deploy-namespace',
      'Namespace',
      h('select', { name: 'namespace' }, (ctx.namespaces.length ? ctx.namespaces : ['']).map((n) => h('option', { value: n, selected: n === ns }, n || 'default'))),
    ),
    process: control('deploy-process', 'Process (optional)', h('input', { type: 'text', name: 'envProcess', autocomplete: 'off', spellcheck: 'false' }), 'fprocess: the command the watchdog runs; empty = the image\'s own.'),
    env: control('deploy-env', 'Environment variables', h('textarea', { name: 'env', rows: 3, spellcheck: 'false', placeholder: 'KEY=value' }), 'One KEY=value per line.'),
    labels: control('deploy-labels', 'Labels', h('textarea', { name: 'labels', rows: 3, spellcheck: 'false', placeholder: 'team=data' }), 'One key=value per line.'),
    annotations: control('deploy-annotations', 'Annotations', h('textarea', { name: 'annotations', rows: 2, spellcheck: 'false', placeholder: 'topic=orders' }), 'One key=value per line.'),
    secrets: control('deploy-secrets', 'Other secrets', h('input', { type: 'text', name: 'secrets', autocomplete: 'off', spellcheck: 'false' }), 'Comma-separated secret names not listed above.'),
    min: control('deploy-scale-min', 'Min replicas', h('input', { type: 'number', name: 'min', min: 1, inputmode: 'numeric' }), 'com.openfaas.scale.min (default 1).'),
    max: control('deploy-scale-max', 'Max replicas', h('input', { type: 'number', name: 'max', min: 1, inputmode: 'numeric' }), 'com.openfaas.scale.max.'),
  };
  const zero = h('input', { type: 'checkbox', id: 'deploy-scale-zero', name: 'zero' });
  const secretChoices = h('div', { class: 'checks', id: 'deploy-secret-choices', role: 'group', 'aria-label': 'Existing secrets' }, h('p', { class: 'muted small' }, 'Loading secrets…'));
  const summary = h('div', { class: 'error-summary', id: 'deploy-errors', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn primary', id: 'deploy-button' }, 'Deploy');

  const form = h(
    'form',
    { class: 'deploy-form', id: 'deploy-form', novalidate: true, 'aria-labelledby': 'deploy-h' },
    summary,
    h('fieldset', {}, h('legend', {}, 'Function'), f.image.wrap, images, f.name.wrap, f.namespace.wrap, f.process.wrap),
    h('fieldset', {}, h('legend', {}, 'Environment, labels and annotations'), f.env.wrap, f.labels.wrap, f.annotations.wrap),
    h('fieldset', {}, h('legend', {}, 'Secrets'), secretChoices, f.secrets.wrap),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Scaling'),
      h('div', { class: 'row' }, f.min.wrap, f.max.wrap),
      h('div', { class: 'field check' }, h('label', { for: 'deploy-scale-zero' }, zero, ' Allow scale to zero when idle'), h('p', { class: 'hint' }, 'com.openfaas.scale.zero=true')),
    ),
    h('div', { class: 'form-actions' }, submit, h('a', { class: 'btn', href: ctx.routeHash('functions', { ns }) }, 'Cancel')),
  );
  root.append(h('div', { class: 'page-head' }, h('h1', { id: 'deploy-h' }, 'Deploy a function')), h('section', { class: 'panel narrow' }, form));

  let closed = false;
  const loadSecrets = async (namespace) => {
    try {
      const list = await api.secrets(namespace);
      if (closed) return;
      secretChoices.replaceChildren(
        ...(list.length
          ? list.map((s) => {
              const id = `deploy-secret-${s.name}`;
              return h('label', { for: id, class: 'check' }, h('input', { type: 'checkbox', id, name: 'secret', value: s.name }), ` ${s.name}`);
            })
          : [h('p', { class: 'muted small' }, `No secrets in ${namespace || 'the default namespace'}.`)]),
      );
    } catch (err) {
      secretChoices.replaceChildren(h('p', { class: 'muted small' }, `Secrets unavailable: ${err.message}`));
    }
  };
  f.namespace.input.addEventListener('change', () => loadSecrets(f.namespace.input.value));
  void loadSecrets(ns);
  api
    .listFunctions(ns)
    .then((list) => {
      if (closed) return;
      const unique = [...new Set(list.map((fn) => fn.image).filter(Boolean))].sort();
      images.replaceChildren(...unique.map((img) => h('option', { value: img })));
    })
    .catch(() => undefined);

  const setError = (fld, message) => {
    fld.error.textContent = message ?? '';
    if (message) fld.input.setAttribute('aria-invalid', 'true');
    else fld.input.removeAttribute('aria-invalid');
  };

  const showSummary = (problems, heading) => {
    summary.replaceChildren(
      h('h2', {}, heading),
      h(
        'ul',
        {},
        problems.map(([fld, msg]) =>
          h('li', {}, fld ? h('a', { href: `#${fld.input.id}`, onclick: (ev) => { ev.preventDefault(); fld.input.focus(); } }, msg) : msg),
        ),
      ),
    );
    summary.hidden = false;
    summary.focus();
  };

  /** @returns {{ spec?: any, problems: [any, string][] }} */
  const collect = () => {
    const problems = [];
    const check = (fld, msg) => {
      setError(fld, msg);
      if (msg) problems.push([fld, msg]);
    };
    const image = f.image.input.value.trim();
    const name = f.name.input.value.trim();
    const namespace = f.namespace.input.value;
    check(f.image, checkImage(image));
    check(f.name, checkDns1123Label(name, 'Name'));
    check(f.namespace, namespace ? checkDns1123Label(namespace, 'Namespace') : null);
    const env = parseKeyValues(f.env.input.value, { what: 'Environment', checkKey: checkEnvKey });
    check(f.env, env.error);
    const labels = parseKeyValues(f.labels.input.value, { what: 'Labels', checkKey: checkLabelKey });
    check(f.labels, labels.error);
    const annotations = parseKeyValues(f.annotations.input.value, { what: 'Annotations', checkKey: checkLabelKey });
    check(f.annotations, annotations.error);
    const extra = f.secrets.input.value.split(',').map((s) => s.trim()).filter(Boolean);
    const badSecret = extra.map((s) => checkDns1123Subdomain(s, `Secret "${s}"`)).find(Boolean);
    check(f.secrets, badSecret ?? null);
    const min = parseCount(f.min.input.value, 'Min replicas', 1);
    check(f.min, min.error);
    const max = parseCount(f.max.input.value, 'Max replicas', 1);
    let maxError = max.error;
    if (!maxError && min.value !== undefined && max.value !== undefined && max.value < min.value) maxError = 'Max replicas must be at least min replicas';
    check(f.max, maxError);
    if (problems.length) return { problems };

    const chosen = [...secretChoices.querySelectorAll('input[name=secret]:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
    const secrets = [...new Set([...chosen, ...extra])];
    const allLabels = { ...labels.values };
    if (min.value !== undefined) allLabels['com.openfaas.scale.min'] = String(min.value);
    if (max.value !== undefined) allLabels['com.openfaas.scale.max'] = String(max.value);
    if (zero.checked) allLabels['com.openfaas.scale.zero'] = 'true';
    const spec = { service: name, image };
    if (namespace) spec.namespace = namespace;
    if (f.process.input.value.trim()) spec.envProcess = f.process.input.value.trim();
    if (Object.keys(env.values).length) spec.envVars = env.values;
    if (Object.keys(allLabels).length) spec.labels = allLabels;
    if (Object.keys(annotations.values).length) spec.annotations = annotations.values;
    if (secrets.length) spec.secrets = secrets;
    return { spec, problems };
  };

  /** Put the gateway's message beside the field it is about, when it names one. */
  const fieldForServerMessage = (message) => {
    if (/^service\b|\bname\b.*invalid/i.test(message)) return f.name;
    if (/^image\b/i.test(message)) return f.image;
    if (/^namespace\b/i.test(message)) return f.namespace;
    if (/^secret\b/i.test(message)) return f.secrets;
    if (/label/i.test(message)) return f.labels;
    return null;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { spec, problems } = collect();
    if (!spec) {
      showSummary(problems, `Fix ${problems.length} problem${problems.length > 1 ? 's' : ''} before deploying`);
      return;
    }
    summary.hidden = true;
    submit.disabled = true;
    submit.textContent = 'Deploying…';
    try {
      await api.deploy(spec);
      ctx.announce(`Deployed ${spec.service}`);
      ctx.navigate(ctx.routeHash('detail', { name: spec.service, ns: spec.namespace ?? ns }), `Deployed ${spec.service}.`);
    } catch (err) {
      const fld = fieldForServerMessage(err.message);
      if (fld) setError(fld, err.message);
      showSummary([[fld, err.message]], `The gateway refused the deployment (${err.status || 'network error'})`);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Deploy';
    }
  });

  return {
    unmount() {
      closed = true;
    },
  };
}
