// The event connectors wired into the CLI, as real processes: `faas-ts up` with
// broker_url (a real mosquitto) and the CoAP endpoint on, a stack.yml function
// annotated topic=..., a publish that reaches it and a reply back over MQTT;
// `faas-ts connector coap` and `faas-ts connector mqtt` in front of that
// gateway; SIGTERM exits 0 and leaves no process; bad settings are CLI_ERR_CONFIG.
import t, { type Test } from 'tap';
import { Agent, request as coapRequest, type IncomingMessage } from 'coap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { createBroker } from '../connectors/test-support.js';
import { freePort, killGroup, processesUnder, until } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts')];
const run = promisify(execFile);

interface Running {
  child: ChildProcess;
  stdout: () => string;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnCli(t: Test, args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [...cli, ...args], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let all = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (all += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => killGroup(child.pid));
  return { child, stdout: () => out, output: () => all, exited };
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(text)?.[1]?.trim();
}

/** Live (non-zombie) processes in process group `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] !== 'Z' && Number(rest[2]) === pgid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const { port } = sock.address();
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

function coapGet(agent: Agent, port: number, pathname: string, query?: string): Promise<{ code: string; payload: string }> {
  return new Promise((resolve, reject) => {
    const req = coapRequest({ hostname: '127.0.0.1', port, method: 'GET', pathname, query, confirmable: true, agent });
    req.on('response', (res: IncomingMessage) => resolve({ code: String(res.code), payload: res.payload.toString() }));
    req.on('error', reject);
    req.on('timeout', () => reject(new Error('coap timeout')));
    req.end();
  });
}

const STACK = `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
functions:
  greet:
    lang: node20
    handler: ./greet
    image: greet:latest
    environment:
      RAW_BODY: "true"
    annotations:
      topic: sensors/+/temp
      topic-reply: replies/greet
`;

// Answers with what it got and how: the MQTT topic header, or the query string of a CoAP GET.
const HANDLER = `'use strict';
module.exports = async (event, context) => {
  const body = Buffer.isBuffer(event.body) ? event.body.toString() : typeof event.body === 'string' ? event.body : '';
  const via = event.headers['x-topic'] ? 'topic ' + event.headers['x-topic'] : 'query ' + (event.query && event.query.who || '');
  return context.status(200).headers({ 'Content-Type': 'text/plain' }).succeed('greet got "' + body + '" via ' + via);
};
`;

t.test('`faas-ts up` starts the MQTT connector and the CoAP endpoint; `faas-ts connector` runs beside it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-cliconn-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const broker = await createBroker(dir);
  t.teardown(() => broker.stop());
  await mkdir(join(dir, 'greet'));
  await writeFile(join(dir, 'greet', 'handler.js'), HANDLER);
  await writeFile(join(dir, 'greet', 'package.json'), JSON.stringify({ name: 'greet', version: '1.0.0', private: true, main: 'handler.js' }));
  await writeFile(join(dir, 'stack.yml'), STACK);
  const dataDir = join(dir, 'data');

  const up = spawnCli(t, ['up', '-f', join(dir, 'stack.yml')], {
    FAAS_TS_DATA_DIR: dataDir,
    port: '0',
    metrics_port: '0',
    broker_url: broker.url,
    client_id: 'up-connector',
    rebuild_interval: '500ms',
    coap_port: '0',
  });
  await until(() => /^Try: /m.test(up.stdout()) || up.child.exitCode !== null, 60_000, 'up banner');
  const banner = up.stdout();
  t.equal(up.child.exitCode, null, `up is running: ${up.output()}`);
  const url = field(banner, 'Gateway')!;
  t.match(field(banner, 'MQTT'), new RegExp(`^${broker.url.replace(/\./g, '\\.')} → ${url.replace(/\./g, '\\.')} \\(functions annotated "topic", sync\\)$`));
  const coapLine = field(banner, 'CoAP');
  t.match(coapLine, /^coap:\/\/127\.0\.0\.1:\d+\/NAME → http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(banner.match(/^(MQTT|CoAP):/gm)?.length, 2, 'one line per connector');
  const password = readFileSync(join(dataDir, 'gateway-secrets', 'basic-auth-password'), 'utf8').trim();

  // The connector's metrics are on the gateway's /metrics (one registry); wait for its subscription.
  const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
  await until(
    async () => /^connector_mqtt_subscriptions 1$/m.test(await (await fetch(`${url}/metrics`, { headers: auth })).text()),
    20_000,
    'connector subscribed to the annotation filter',
  );

  const client = await mqtt.connectAsync(broker.url, { clientId: 'test-client' });
  t.teardown(() => client.endAsync(true));
  const replies: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic === 'replies/greet') replies.push(payload.toString());
  });
  await client.subscribeAsync('replies/greet', { qos: 1 });
  await client.publishAsync('sensors/kitchen/temp', '21.5', { qos: 1 });
  await until(() => replies.length > 0, 20_000, 'reply from the function');
  t.same(replies, ['greet got "21.5" via topic sensors/kitchen/temp'], 'the function ran for the published message');

  // The CoAP endpoint `up` started.
  const agent = new Agent({ type: 'udp4' });
  t.teardown(() => void agent.close());
  const upCoapPort = Number(/:(\d+)\/NAME/.exec(coapLine!)![1]);
  t.same(await coapGet(agent, upCoapPort, '/greet', 'who=up'), { code: '2.05', payload: 'greet got "" via query up' });

  // `faas-ts connector coap` as its own process, through the running gateway, with /metrics.
  const coapPort = await freeUdpPort();
  const coap = spawnCli(t, ['connector', 'coap'], { coap_port: String(coapPort), gateway_url: url, metrics_port: '0' });
  await until(() => /^CoAP: /m.test(coap.stdout()) || coap.child.exitCode !== null, 20_000, 'connector coap banner');
  t.match(coap.stdout(), new RegExp(`^CoAP:\\s+coap://127\\.0\\.0\\.1:${coapPort}/NAME → ${url.replace(/\./g, '\\.')}$`, 'm'));
  t.same(await coapGet(agent, coapPort, '/greet', 'who=cli'), { code: '2.05', payload: 'greet got "" via query cli' });
  t.match((await coapGet(agent, coapPort, '/no-such-fn')).code, '4.04');

  // `faas-ts connector mqtt` as its own process: a second subscriber invoking the same function.
  const metricsPort = await freePort();
  const mq = spawnCli(t, ['connector', 'mqtt'], {
    broker_url: broker.url,
    client_id: 'cli-connector',
    gateway_url: url,
    gateway_password_file: join(dataDir, 'gateway-secrets', 'basic-auth-password'),
    reply_topic_annotation: '',
    metrics_port: String(metricsPort),
  });
  await until(() => /^Metrics: /m.test(mq.stdout()) || mq.child.exitCode !== null, 20_000, 'connector mqtt banner');
  t.match(mq.stdout(), /^MQTT:\s+mqtt:\/\/127\.0\.0\.1:\d+ → http:\/\/127\.0\.0\.1:\d+ \(functions annotated "topic", sync\)$/m);
  const metricsUrl = field(mq.stdout(), 'Metrics')!;
  await until(async () => /^connector_mqtt_subscriptions 1$/m.test(await (await fetch(metricsUrl)).text()), 20_000, 'cli connector subscribed');
  await client.publishAsync('sensors/hall/temp', '19', { qos: 1 });
  await until(
    async () => /^connector_mqtt_messages_total\{[^}]*function="greet[^"]*"[^}]*status="200"[^}]*\} 1$/m.test(await (await fetch(metricsUrl)).text()),
    20_000,
    'cli connector invoked greet',
  );
  await until(() => replies.length > 1, 20_000, 'up connector replied to the second message');
  t.equal(replies[1], 'greet got "19" via topic sensors/hall/temp');

  for (const [name, p] of [
    ['connector coap', coap],
    ['connector mqtt', mq],
    ['up', up],
  ] as const) {
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0, `${name}: SIGTERM exits 0`);
    await until(() => groupMembers(p.child.pid!).length === 0, 10_000, `${name}: no process left in its group`);
  }
  await until(() => processesUnder(dataDir).length === 0, 10_000, 'no replica left');
  t.pass('no process left behind');
});

t.test('bad connector settings are the CLI config error', async (t) => {
  const env = { PATH: process.env.PATH ?? '' };
  const noBroker = await run(process.execPath, [...cli, 'connector', 'mqtt'], { env }).catch((e: { code: number; stderr: string }) => e);
  t.match(noBroker, { code: 1, stderr: /broker_url: required[\s\S]*\[CLI_ERR_CONFIG\]/ });
  const badCoap = await run(process.execPath, [...cli, 'connector', 'coap'], { env: { ...env, coap_port: '70000' } }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.match(badCoap, { code: 1, stderr: /coap_port: not a port[\s\S]*\[CLI_ERR_CONFIG\]/ });
  const unknown = await run(process.execPath, [...cli, 'connector', 'amqp'], { env }).catch((e: { code: number; stderr: string }) => e);
  t.match(unknown, { code: 2, stderr: /unknown connector "amqp"[\s\S]*CLI_ERR_USAGE/ });

  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-cliconn-bad-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const up = await run(process.execPath, [...cli, 'up', '--skip-deploy'], {
    env: { ...env, FAAS_TS_DATA_DIR: join(dir, 'data'), port: '0', broker_url: 'ftp://127.0.0.1', coap_enabled: 'true' },
  }).catch((e: { code: number; stderr: string; stdout: string }) => e);
  t.match(up, { code: 1, stderr: /invalid MQTT connector configuration[\s\S]*broker_url: not a [\s\S]*\[CLI_ERR_CONFIG\]/ });
  t.notMatch((up as { stdout: string }).stdout, /faas-ts is up/, 'nothing started');
});
