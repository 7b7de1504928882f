// The web UI in a real browser (Debian's Chromium through playwright-core)
// against `faas-ts up`: the real CLI process, the local provider with real
// watchdog replicas, the sample stack.yml and the gateway serving ui/.
// Screenshots of every page go to .tap/ui-screenshots/ (not committed).
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { cliCommand, killGroup, until } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, '.tap', 'ui-screenshots');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];


interface Gateway {
  url: string;
  user: string;
  password: string;
}

/** Start `faas-ts up` on a free port with its own data dir; stop it (SIGTERM, then SIGKILL) on teardown. */
async function startUp(t: Test, dataDir: string): Promise<Gateway> {
  const child: ChildProcess = spawn(process.execPath, [...cliCommand(), 'up'], {
    cwd: repo,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      FAAS_TS_DATA_DIR: dataDir,
      FAAS_TS_LOG_LEVEL: 'warn',
      port: '0',
      metrics_port: '0',
      // Short, so followed log streams end (as they do at write_timeout) and the UI must reconnect.
      write_timeout: '6s',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    killGroup(child.pid);
  });
  await until(() => /^Try:/m.test(out) || child.exitCode !== null, 60_000, 'faas-ts up banner');
  if (child.exitCode !== null) throw new Error(`faas-ts up exited ${child.exitCode}: ${err}`);
  const field = (name: string) => new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  return { url: field('Gateway'), user: field('User'), password: field('Password') };
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

/** Wait until the text of `selector` matches `re`; returns that text. */
async function waitText(page: Page, selector: string, re: RegExp, timeoutMs = 15_000): Promise<string> {
  let last = '';
  await until(
    async () => {
      try {
        last = (await page.locator(selector).first().textContent({ timeout: 1000 })) ?? '';
      } catch (err) {
        last = `(${(err as Error).message.split('\n')[0]})`;
        return false;
      }
      return re.test(last);
    },
    timeoutMs,
    `${selector} to match ${re}`,
  ).catch(async (err: Error) => {
    await shot(page, 'failure').catch(() => undefined);
    throw new Error(`${err.message} (last: ${JSON.stringify(last.slice(-300))}; screenshot failure.png)`);
  });
  return last;
}

t.test('web UI: list, deploy, invoke, logs, chart, scale, delete; bad input; wrong credentials', async (t) => {
  mkdirSync(shots, { recursive: true });
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-ui-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  // Playwright puts its artifacts under os.tmpdir(): keep them in our temp dir.
  const savedTmp = process.env.TMPDIR;
  const browserTmp = join(base, 'tmp');
  mkdirSync(browserTmp);
  process.env.TMPDIR = browserTmp;
  t.teardown(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });

  const gw = await startUp(t, join(base, 'data'));
  t.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const auth = `Basic ${Buffer.from(`${gw.user}:${gw.password}`).toString('base64')}`;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${path}`, { ...init, headers: { authorization: auth, ...(init.headers ?? {}) } });

  // A second namespace for the switcher, and a secret for the deploy form to offer.
  t.equal((await admin('/system/namespace/staging', { method: 'POST', body: '{"name":"staging"}' })).status, 202);
  t.equal((await admin('/system/secrets', { method: 'POST', body: '{"name":"api-key","value":"s3cr3t"}' })).status, 201);

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  t.teardown(() => browser.close());
  const newContext = (credentials?: { username: string; password: string }): Promise<BrowserContext> =>
    browser.newContext({ viewport: { width: 1366, height: 900 }, ...(credentials ? { httpCredentials: credentials } : {}) });

  // 1. Wrong credentials, or none: the UI is refused.
  {
    const ctx = await newContext({ username: gw.user, password: 'wrong-password' });
    const page = await ctx.newPage();
    const res = await page.goto(`${gw.url}/ui/`);
    t.equal(res?.status(), 401, 'wrong password: 401');
    t.equal(res?.headers()['www-authenticate'], 'Basic realm="Restricted"');
    await shot(page, '00-wrong-credentials');
    await ctx.close();
    // Without credentials Chromium aborts the navigation itself; ask over the context's HTTP client.
    const anon = await newContext();
    const res2 = await anon.request.get(`${gw.url}/ui/`);
    t.equal(res2.status(), 401, 'no credentials: 401');
    await anon.close();
  }

  // 2. Log in: the sample functions are listed with replicas, image and created time.
  const ctx = await newContext({ username: gw.user, password: gw.password });
  t.teardown(() => ctx.close());
  const page = await ctx.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const res = await page.goto(`${gw.url}/ui/?refresh=1000`);
  t.equal(res?.status(), 200, 'the UI loads with the admin credentials');
  for (const name of ['echo-python', 'har-cnn', 'hello-node', 'sieve']) {
    await page.locator(`tr[data-function="${name}"]`).waitFor({ timeout: 15_000 });
  }
  const helloRow = page.locator('tr[data-function="hello-node"]');
  await waitText(page, 'tr[data-function="hello-node"] td:nth-child(3)', /^1\/1$/);
  t.match(await helloRow.textContent(), /Ready.*1\/1.*hello-node:latest/, 'row: status, replicas, image');
  t.match(await helloRow.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/, 'created time');
  await fetch(`${gw.url}/function/sieve?n=10`).then((r) => r.text());
  await waitText(page, 'tr[data-function="sieve"] td:nth-child(4)', /^[1-9]/, 10_000);
  t.pass('the invocation count refreshes live');
  await shot(page, '01-functions');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, '01-functions-dark', false);
  await page.emulateMedia({ colorScheme: 'light' });

  // 3. Namespace switcher.
  const options = await page.locator('#namespace option').allTextContents();
  t.same(options.sort(), ['openfaas-fn', 'staging']);
  await page.selectOption('#namespace', 'staging');
  await page.locator('.empty:not([hidden])').waitFor();
  t.match(await page.locator('.empty').textContent(), /No functions in namespace staging/);
  t.match(page.url(), /#\/functions\?ns=staging$/);
  await shot(page, '02-namespace-staging');
  await page.selectOption('#namespace', 'openfaas-fn');
  await page.locator('tr[data-function="hello-node"]').waitFor();

  // Keyboard: the skip link comes first and shows a focus ring; Tab reaches a function link, Enter opens it.
  await page.reload();
  await page.locator('tr[data-function="hello-node"]').waitFor();
  await page.keyboard.press('Tab');
  t.equal(await page.evaluate('document.activeElement.id'), 'skip-link');
  t.not(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle'), 'none', 'visible focus ring');
  await page.keyboard.press('Enter');
  t.equal(await page.evaluate('document.activeElement.id'), 'main', 'the skip link moves focus to the content');
  for (let i = 0; i < 10 && (await page.evaluate('document.activeElement.textContent')) !== 'echo-python'; i++) {
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/function\/echo-python\?ns=openfaas-fn$/);
  // The page renders after the URL changes: give focus a moment to land.
  const focused = 'document.activeElement.tagName + ":" + document.activeElement.textContent.trim()';
  await page.waitForFunction(`${focused} === 'H1:echo-python'`, null, { timeout: 5000 }).catch(() => undefined);
  t.equal(await page.evaluate(focused), 'H1:echo-python', 'focus moves to the new page heading');
  await waitText(page, '#fn-status', /^Ready$/);
  await page.goBack();
  await page.locator('tr[data-function="hello-node"]').waitFor();

  // 4. Deploy form: client-side errors inline, then the gateway's 400, then a real deploy.
  await page.getByRole('link', { name: 'Deploy function' }).click();
  await page.locator('#deploy-form').waitFor();
  await page.locator('#deploy-secret-api-key').waitFor();
  await page.fill('#deploy-name', 'Bad_Name');
  await page.fill('#deploy-labels', 'not a label line');
  await page.fill('#deploy-scale-min', '3');
  await page.fill('#deploy-scale-max', '2');
  await page.click('#deploy-button');
  await page.locator('#deploy-errors:not([hidden])').waitFor();
  t.match(await page.locator('#deploy-image-error').textContent(), /Image is required/);
  t.match(await page.locator('#deploy-name-error').textContent(), /DNS-1123 label/);
  t.match(await page.locator('#deploy-labels-error').textContent(), /expected KEY=VALUE/);
  t.match(await page.locator('#deploy-scale-max-error').textContent(), /at least min/);
  t.equal(await page.getAttribute('#deploy-name', 'aria-invalid'), 'true');
  t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'deploy-errors', 'focus moves to the error summary');
  await shot(page, '03-deploy-client-errors');

  await page.fill('#deploy-image', 'no-such-bundle:latest');
  await page.fill('#deploy-name', 'ui-missing');
  await page.fill('#deploy-labels', '');
  await page.fill('#deploy-scale-min', '');
  await page.fill('#deploy-scale-max', '');
  await page.click('#deploy-button');
  const serverError = await waitText(page, '#deploy-image-error', /not in the local bundle store/);
  t.match(await page.locator('#deploy-errors').textContent(), /gateway refused the deployment \(400\)/);
  t.ok(serverError.length > 0, "the gateway's 400 message is shown beside the image field");
  await shot(page, '04-deploy-server-error');

  await page.fill('#deploy-image', 'hello-node:latest');
  await page.fill('#deploy-name', 'ui-hello');
  await page.fill('#deploy-env', 'GREETING=hi\nMODE=test');
  await page.fill('#deploy-labels', 'team=ui');
  await page.fill('#deploy-annotations', 'topic=orders');
  await page.check('#deploy-secret-api-key');
  await page.fill('#deploy-scale-min', '1');
  await page.fill('#deploy-scale-max', '3');
  await page.check('#deploy-scale-zero');
  await shot(page, '05-deploy-filled');
  // Submit with the keyboard: Enter in a text field.
  await page.focus('#deploy-name');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/function\/ui-hello\?ns=openfaas-fn$/);

  // 5. Detail: it becomes ready, and its configuration is shown.
  await waitText(page, '#fn-status', /^Ready$/, 30_000);
  await waitText(page, '#fn-replicas', /^1 available \/ 1 desired$/);
  t.match(await page.locator('#fn-env').textContent(), /GREETING.*hi.*MODE.*test/);
  t.match(await page.locator('#fn-labels').textContent(), /team.*ui/);
  t.match(await page.locator('#fn-annotations').textContent(), /topic.*orders/);
  t.match(await page.locator('#fn-scaling').textContent(), /com\.openfaas\.scale\.max3.*com\.openfaas\.scale\.min1.*com\.openfaas\.scale\.zerotrue/);
  t.equal(await page.locator('#fn-secrets').textContent(), 'api-key');
  t.notMatch(await page.locator('main').textContent(), /s3cr3t/, 'secret values are never shown');
  const deployed = (await (await admin('/system/function/ui-hello')).json()) as { envVars?: Record<string, string>; secrets?: string[] };
  t.same(deployed.envVars, { GREETING: 'hi', MODE: 'test' });
  t.same(deployed.secrets, ['api-key']);

  // 6. Invoke and read the response.
  await page.fill('#invoke-path', '/from-ui');
  await page.fill('#invoke-query', 'x=1');
  await page.fill('#invoke-headers', 'Content-Type: text/plain\nX-Test: yes');
  await page.fill('#invoke-body', 'browser');
  await page.click('#invoke-button');
  await waitText(page, '#invoke-status', /^200 OK$/);
  t.match(await page.locator('#invoke-response').textContent(), /Hello, browser! \(from hello-node\)/);
  t.match(await page.locator('#invoke-duration').textContent(), /^\d+(\.\d)? ms$/);
  t.match(await page.locator('#invoke-headers-out').textContent(), /x-call-id: /i);

  // 7. Logs follow live: the line the invocation produced appears.
  await waitText(page, '#log-lines', /POST \/from-ui\?x=1 - 200/, 15_000);
  t.pass('the invocation shows up in the followed logs');
  await page.locator('#invoke-async').check();
  await page.fill('#invoke-path', '/queued');
  await page.click('#invoke-button');
  await waitText(page, '#invoke-status', /^202 Accepted$/);
  await waitText(page, '#log-lines', /POST \/queued\?x=1 - 200/, 15_000);
  t.pass('an async invocation is queued, run by the worker and logged');

  // 8. The chart updates after invocations.
  for (let i = 0; i < 10; i++) await fetch(`${gw.url}/function/ui-hello`, { method: 'POST', body: `n${i}` }).then((r) => r.text());
  await until(
    async () => Number(await page.getAttribute('[data-metric="rate"]', 'data-last')) > 0,
    15_000,
    'invocation rate above 0 in the chart',
  );
  await until(async () => Number(await page.getAttribute('[data-metric="latencyMs"]', 'data-last')) > 0, 15_000, 'latency in the chart');
  t.equal(Number(await page.getAttribute('[data-metric="replicas"]', 'data-last')), 1, 'replicas in the chart');
  t.equal(Number(await page.getAttribute('[data-metric="errorRate"]', 'data-last')), 0, 'no errors');
  t.match(await page.getAttribute('[data-metric="rate"] path.chart-line', 'd'), /^M[\d.]+,[\d.]+/, 'the rate line is drawn');
  t.match(await page.getAttribute('[data-metric="rate"] svg', 'aria-label'), /Invocations over the last \d+ min: now/);
  await waitText(page, '#fn-invocations', /^1[2-9]$|^[2-9]\d$/, 10_000);
  await shot(page, '06-detail');

  // The gateway ends each followed log stream at write_timeout (6 s here): the
  // panel reconnects, shows new lines and repeats none.
  await until(async () => Number(await page.getAttribute('#logs-panel', 'data-connections')) >= 2, 20_000, 'log stream reconnected');
  await fetch(`${gw.url}/function/ui-hello/after-reconnect`, { method: 'POST', body: 'x' }).then((r) => r.text());
  await waitText(page, '#log-lines', /POST \/after-reconnect - 200/, 15_000);
  const lines = await page.locator('#log-lines li').allTextContents();
  t.equal(lines.filter((l) => l.includes('POST /from-ui?x=1 - 200')).length, 1, 'no line is repeated after a reconnect');
  t.equal(lines.filter((l) => l.includes('Listening on port')).length, 1, 'startup lines are not repeated either');

  // 9. Scale, with a confirmation dialog (Escape cancels; Enter confirms).
  await page.click('#scale-button');
  await page.locator('dialog[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('dialog').waitFor({ state: 'detached' });
  t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'scale-button', 'focus returns to the opener');
  await page.click('#scale-button');
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.locator('input').fill('2');
  await shot(page, '07-scale-dialog', false);
  await page.keyboard.press('Enter');
  await waitText(page, '#fn-replicas', /^2 available \/ 2 desired$/, 30_000);
  await until(async () => Number(await page.getAttribute('[data-metric="replicas"]', 'data-last')) === 2, 10_000, 'chart shows 2 replicas');
  t.pass('scaled to 2 replicas');

  // 10. Delete, with confirmation; back on the list without the function.
  await page.click('#delete-button');
  await page.locator('dialog[open]').waitFor();
  await shot(page, '08-delete-dialog', false);
  await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/#\/functions\?ns=openfaas-fn$/);
  await waitText(page, '.banner.ok', /Deleted ui-hello/);
  await page.locator('tr[data-function="hello-node"]').waitFor();
  t.equal(await page.locator('tr[data-function="ui-hello"]').count(), 0, 'the row is gone');
  t.equal((await admin('/system/function/ui-hello')).status, 404, 'the function is gone');
  await shot(page, '09-after-delete');

  // 11. Error rate: har-cnn answers 400 to a malformed window.
  await page.click('tr[data-function="har-cnn"] a');
  await page.waitForURL(/#\/function\/har-cnn\?ns=openfaas-fn$/);
  await waitText(page, '#fn-status', /^Ready$/);
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${gw.url}/function/har-cnn`, { method: 'POST', body: '{"window": [1, 2]}' });
    t.equal(r.status, 400);
    await r.text();
  }
  await until(
    async () => Number(await page.getAttribute('[data-metric="errorRate"]', 'data-last')) > 0,
    15_000,
    'error rate above 0 in the chart',
  );
  t.pass('non-2xx answers show in the error-rate chart');
  await shot(page, '10-errors-chart');

  t.same(consoleErrors, [], 'no uncaught errors in the page');
});

// The UI's pure modules (no DOM) run in node as well: metrics arithmetic and form checks.
t.test('ui modules: Prometheus parsing, rates from counters, form validation', async (t) => {
  const metrics = await import(new URL('../ui/js/metrics.js', import.meta.url).href);
  const validate = await import(new URL('../ui/js/validate.js', import.meta.url).href);

  const samples = metrics.parsePrometheusText(
    [
      '# HELP gateway_function_invocation_total x',
      '# TYPE gateway_function_invocation_total counter',
      'gateway_function_invocation_total{function_name="a.ns",code="200"} 10',
      'gateway_function_invocation_total{function_name="a.ns",code="500"} 2',
      'gateway_functions_seconds_bucket{le="+Inf",function_name="a.ns",code="200"} 12',
      'gateway_functions_seconds_sum{function_name="a.ns",code="200"} 1.2',
      'gateway_functions_seconds_count{function_name="a.ns",code="200"} 12',
      'gateway_service_count{function_name="a.ns"} 3',
      'odd{label="quote \\" and \\\\ back"} +Inf 1700000000000',
    ].join('\n'),
  );
  t.equal(samples.length, 7);
  t.same(samples[6], { name: 'odd', labels: { label: 'quote " and \\ back' }, value: Infinity });
  t.same(metrics.aggregate(samples).get('a.ns'), { total: 12, errors: 2, secSum: 1.2, secCount: 12, replicas: 3 });

  let clock = 0;
  let text = '';
  const history = metrics.createMetricsHistory({ fetchText: async () => text, now: () => clock, windowMs: 10_000 });
  const scrapeAt = async (t0: number, total: number, errors: number, sum: number, count: number) => {
    clock = t0;
    text = [
      `gateway_function_invocation_total{function_name="f.ns",code="200"} ${total - errors}`,
      `gateway_function_invocation_total{function_name="f.ns",code="502"} ${errors}`,
      `gateway_functions_seconds_sum{function_name="f.ns",code="200"} ${sum}`,
      `gateway_functions_seconds_count{function_name="f.ns",code="200"} ${count}`,
      'gateway_service_count{function_name="f.ns"} 2',
    ].join('\n');
    await history.scrape();
  };
  await scrapeAt(1000, 10, 0, 1, 10);
  t.same(history.series('f.ns'), [], 'the first scrape is only a baseline');
  await scrapeAt(3000, 30, 4, 1.5, 20);
  t.same(history.latest('f.ns'), { t: 3000, rate: 10, errorRate: 2, latencyMs: 50, replicas: 2 });
  await scrapeAt(5000, 30, 4, 1.5, 20);
  t.same(history.latest('f.ns'), { t: 5000, rate: 0, errorRate: 0, latencyMs: null, replicas: 2 }, 'idle: no latency');
  await scrapeAt(7000, 5, 0, 0.1, 5);
  t.equal(history.latest('f.ns').rate, 2.5, 'a counter reset counts from zero');
  await scrapeAt(20_000, 5, 0, 0.1, 5);
  t.equal(history.series('f.ns').length, 1, 'points older than the window are dropped');

  t.equal(validate.checkDns1123Label('hello-node'), null);
  t.match(validate.checkDns1123Label('Hello'), /DNS-1123/);
  t.match(validate.checkDns1123Label('-x'), /DNS-1123/);
  t.match(validate.checkDns1123Label('a'.repeat(64)), /63/);
  t.equal(validate.checkLabelKey('com.openfaas.scale.min'), null);
  t.equal(validate.checkLabelKey('example.com/team'), null);
  t.match(validate.checkLabelKey('bad key'), /label key/);
  t.same(validate.parseKeyValues('A=1\n\n# note\nB = two=2', { what: 'Env' }), { values: { A: '1', B: 'two=2' }, error: null });
  t.match(validate.parseKeyValues('A=1\nA=2', { what: 'Env' }).error, /repeated/);
  t.match(validate.parseKeyValues('novalue', { what: 'Env' }).error, /line 1: expected KEY=VALUE/);
  t.same(validate.parseCount('', 'Min', 1), { value: undefined, error: null });
  t.match(validate.parseCount('0', 'Min', 1).error, /between 1/);
  t.match(validate.parseCount('1.5', 'Min', 1).error, /whole number/);
});

t.test('ui assets: small, no external URLs, relative module imports', async (t) => {
  const root = join(repo, 'ui');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(root);
  t.ok(files.some((f) => f.endsWith('index.html')), 'index.html');
  const gzipped = files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  t.ok(gzipped <= 200 * 1024, `total gzipped size ${gzipped} B is at most 200 KB`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const rel = f.slice(root.length + 1);
    t.notMatch(text, /(src|href)\s*=\s*["']?(https?:)?\/\//i, `${rel}: no absolute src/href`);
    t.notMatch(text, /url\(\s*["']?(https?:)?\/\//i, `${rel}: no absolute CSS url()`);
    for (const m of text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      t.match(m[1], /^\.\.?\//, `${rel}: import ${m[1]} is relative`);
    }
  }
});
