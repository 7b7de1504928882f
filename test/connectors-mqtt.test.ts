/**
 * MQTT connector end to end: a real mosquitto on loopback, a real faas-ts
 * gateway on provider-local with bundled watchdogs (and the durable queue +
 * worker for async mode), functions carrying the `topic` annotation.
 * Needs dist/fwatchdog.cjs and the mosquitto binary (scripts/ensure-system-deps.sh).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createMqttConnector } from '../connectors/index.js';
import { createBroker, startStack, until } from '../connectors/test-support.js';
import { killGroup, watchdogCommand } from './helpers.js';

interface Record_ {
  topic: string;
  connector: string;
  body: string;
}

async function records(file: string): Promise<Record_[]> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l) as Record_) : [];
  } catch {
    return [];
  }
}

async function metricValue(registry: { getSingleMetricAsString(n: string): Promise<string> }, name: string, match = ''): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes(match)) continue;
    const v = Number(line.split(' ').pop());
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

t.test('mqtt connector against mosquitto and a real gateway', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conn-mqtt-'));
  const broker = await createBroker(dir);
  const stack = await startStack(watchdogCommand());
  t.teardown(async () => {
    await stack.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const recA = join(dir, 'a.jsonl');
  const recB = join(dir, 'b.jsonl');
  const recC = join(dir, 'c.jsonl');
  await stack.deploy({ service: 'rec-a', image: 'recorder:latest', annotations: { topic: 'sensors/temp, sensors/+/alarm' }, envVars: { RECORD_FILE: recA } });
  await stack.deploy({ service: 'echo', image: 'echo:latest', annotations: { topic: 'echo/in', 'topic-reply': 'echo/out' } });

  const connector = await createMqttConnector({
    brokerUrl: broker.url,
    clientId: 'faas-ts-test-sync',
    gateway: { url: stack.url, credentials: stack.credentials },
    mode: 'sync',
    refreshIntervalMs: 300,
    reconnectPeriodMs: 200,
  });
  t.teardown(() => connector.close());
  await until(() => connector.status().subscriptions.length === 3, 10_000, 'subscribed');
  t.same(connector.status().subscriptions, ['echo/in', 'sensors/+/alarm', 'sensors/temp']);

  const pub = await mqtt.connectAsync(broker.url, { clientId: 'pub-1', reconnectPeriod: 200 });
  t.teardown(() => pub.endAsync(true));

  await t.test('N messages → N invocations with the right bodies and topic header', async (t) => {
    const N = 25;
    for (let i = 0; i < N; i++) await pub.publishAsync('sensors/temp', `reading-${i}`, { qos: 1 });
    await pub.publishAsync('sensors/kitchen/alarm', 'smoke', { qos: 1 });
    await pub.publishAsync('sensors/other', 'nobody wants this', { qos: 1 });
    await until(async () => (await records(recA)).length >= N + 1, 20_000, 'all invocations recorded');
    const got = await records(recA);
    t.equal(got.length, N + 1, 'exactly one invocation per message');
    const temps = got.filter((r) => r.topic === 'sensors/temp').map((r) => Buffer.from(r.body, 'base64').toString());
    t.same(temps, Array.from({ length: N }, (_, i) => `reading-${i}`), 'bodies in order');
    t.match(got.find((r) => r.topic === 'sensors/kitchen/alarm'), { connector: 'faas-ts-mqtt', body: Buffer.from('smoke').toString('base64') });
    t.equal(await metricValue(connector.registry, 'connector_mqtt_messages_total', 'function="rec-a.openfaas-fn",status="200"'), N + 1);
    t.equal(await metricValue(connector.registry, 'connector_mqtt_messages_total', 'topic="sensors/temp"'), N);
  });

  await t.test('reply topic gets the function response, and the connector keeps going', async (t) => {
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'sub-reply' });
    t.teardown(() => sub.endAsync(true));
    const replies: string[] = [];
    sub.on('message', (_topic, msg) => replies.push(msg.toString()));
    await sub.subscribeAsync('echo/out', { qos: 1 });
    await pub.publishAsync('echo/in', 'hello mqtt', { qos: 1 });
    await until(() => replies.length > 0, 10_000, 'reply');
    t.same(replies, ['HELLO MQTT']);
    // publishing the reply must not hold up the next message (its PUBACK is an incoming packet)
    await pub.publishAsync('echo/in', 'second', { qos: 1 });
    await until(() => replies.length === 2, 5_000, 'second reply');
    t.same(replies, ['HELLO MQTT', 'SECOND']);
  });

  await t.test('MQTT 5 response topic and correlation data', async (t) => {
    const c5 = await mqtt.connectAsync(broker.url, { clientId: 'v5-client', protocolVersion: 5 });
    t.teardown(() => c5.endAsync(true));
    const got: Array<{ topic: string; body: string; corr?: string }> = [];
    c5.on('message', (topic, msg, packet) => got.push({ topic, body: msg.toString(), corr: packet.properties?.correlationData?.toString() }));
    await c5.subscribeAsync('v5/reply', { qos: 1 });
    const v5conn = await createMqttConnector({
      brokerUrl: broker.url,
      clientId: 'faas-ts-test-v5',
      protocolVersion: 5,
      gateway: { url: stack.url, credentials: stack.credentials },
      mode: 'sync',
      topicAnnotation: 'topic-v5',
      refreshIntervalMs: 300,
    });
    t.teardown(() => v5conn.close());
    await stack.deploy({ service: 'echo5', image: 'echo:latest', annotations: { 'topic-v5': 'v5/in' } });
    await until(async () => {
      await v5conn.refresh();
      return v5conn.status().subscriptions.includes('v5/in');
    }, 10_000, 'v5 subscribed');
    await c5.publishAsync('v5/in', 'corr me', { qos: 1, properties: { responseTopic: 'v5/reply', correlationData: Buffer.from('id-9') } });
    await until(() => got.some((g) => g.corr === 'id-9'), 10_000, 'v5 reply');
    t.match(got.find((g) => g.corr === 'id-9'), { topic: 'v5/reply', body: 'CORR ME' });
  });

  await t.test('a function deployed later starts receiving', async (t) => {
    await stack.deploy({ service: 'rec-b', image: 'recorder:latest', annotations: { topic: 'late/#' }, envVars: { RECORD_FILE: recB } });
    await until(() => connector.status().subscriptions.includes('late/#'), 10_000, 'late subscription');
    await pub.publishAsync('late/x/y', 'late one', { qos: 1 });
    await until(async () => (await records(recB)).length === 1, 10_000, 'late function invoked');
    t.match((await records(recB))[0], { topic: 'late/x/y', body: Buffer.from('late one').toString('base64') });
    // and stops when removed
    await stack.remove('rec-b');
    await until(() => !connector.status().subscriptions.includes('late/#'), 10_000, 'unsubscribed after removal');
  });

  await t.test('bad payloads: binary, empty, huge, and an invocation error do not stop it', async (t) => {
    const before = (await records(recA)).length;
    const binary = Buffer.from([0, 255, 254, 1, 2, 0x80, 0xc3, 0x28]);
    await pub.publishAsync('sensors/temp', binary, { qos: 1 });
    await pub.publishAsync('sensors/temp', Buffer.alloc(0), { qos: 1 });
    const huge = Buffer.alloc(3 * 1024 * 1024, 7);
    await pub.publishAsync('sensors/temp', huge, { qos: 1 });
    await pub.publishAsync('sensors/temp', 'after the bad ones', { qos: 1 });
    await until(async () => (await records(recA)).some((r) => Buffer.from(r.body, 'base64').toString() === 'after the bad ones'), 20_000, 'later message delivered');
    const got = (await records(recA)).slice(before);
    t.ok(got.some((r) => Buffer.from(r.body, 'base64').equals(binary)), 'binary payload arrives byte for byte');
    t.ok(got.some((r) => r.body === ''), 'empty payload arrives as an empty body');
    t.ok(connector.status().connected);
    // an error answer is logged and counted, and the connector goes on
    await stack.deploy({ service: 'echo-fail', image: 'fail:latest', annotations: { topic: 'fail/in' } });
    await until(() => connector.status().subscriptions.includes('fail/in'), 10_000, 'fail subscribed');
    await pub.publishAsync('fail/in', 'x', { qos: 1 });
    await until(async () => (await metricValue(connector.registry, 'connector_mqtt_messages_total', 'function="echo-fail.openfaas-fn"')) === 1, 10_000, 'error counted');
    t.equal(await metricValue(connector.registry, 'connector_mqtt_messages_total', 'function="echo-fail.openfaas-fn",status="500"'), 1, 'counted as 500');
    await pub.publishAsync('sensors/temp', 'after the error', { qos: 1 });
    await until(async () => (await records(recA)).some((r) => Buffer.from(r.body, 'base64').toString() === 'after the error'), 10_000, 'delivered after the error');
  });

  await t.test('broker restart: the connector reconnects, resubscribes and resumes', async (t) => {
    const connectsBefore = await metricValue(connector.registry, 'connector_mqtt_connects_total');
    await broker.stop();
    await until(() => !connector.status().connected, 10_000, 'connector notices');
    await broker.start();
    await until(async () => (await metricValue(connector.registry, 'connector_mqtt_connects_total')) > connectsBefore, 15_000, 'reconnected');
    await until(() => connector.status().subscriptions.includes('sensors/temp'), 10_000, 'resubscribed');
    const pub2 = await mqtt.connectAsync(broker.url, { clientId: 'pub-2' });
    t.teardown(() => pub2.endAsync(true));
    await pub2.publishAsync('sensors/temp', 'after restart', { qos: 1 });
    await until(async () => (await records(recA)).some((r) => Buffer.from(r.body, 'base64').toString() === 'after restart'), 10_000, 'delivered after restart');
    t.pass('resumed');
  });

  await t.test('async mode goes through the queue', async (t) => {
    await stack.deploy({ service: 'rec-c', image: 'recorder:latest', annotations: { 'topic-async': 'queued/+' }, envVars: { RECORD_FILE: recC } });
    const asyncConn = await createMqttConnector({
      brokerUrl: broker.url,
      clientId: 'faas-ts-test-async',
      gateway: { url: stack.url, credentials: stack.credentials },
      mode: 'async',
      topicAnnotation: 'topic-async',
      refreshIntervalMs: 300,
    });
    t.teardown(() => asyncConn.close());
    await until(() => asyncConn.status().subscriptions.includes('queued/+'), 10_000, 'async subscribed');
    const pub3 = await mqtt.connectAsync(broker.url, { clientId: 'pub-3' });
    t.teardown(() => pub3.endAsync(true));
    for (let i = 0; i < 10; i++) await pub3.publishAsync(`queued/${i}`, `q${i}`, { qos: 1 });
    await until(async () => (await records(recC)).length === 10, 20_000, 'queued invocations ran');
    const bodies = (await records(recC)).map((r) => Buffer.from(r.body, 'base64').toString()).sort();
    t.same(bodies, Array.from({ length: 10 }, (_, i) => `q${i}`).sort());
    t.equal(await metricValue(asyncConn.registry, 'connector_mqtt_messages_total', 'status="202"'), 10, 'accepted by the queue');
  });

  await t.test('connectors/mqtt/main.ts as a process: env config, password file, SIGTERM', async (t) => {
    const recD = join(dir, 'd.jsonl');
    await stack.deploy({ service: 'rec-d', image: 'recorder:latest', annotations: { 'topic-main': 'main/in' }, envVars: { RECORD_FILE: recD } });
    const pwFile = join(dir, 'gw-password');
    await writeFile(pwFile, `${stack.credentials.password}\n`, { mode: 0o600 });
    const root = new URL('..', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', 'connectors/mqtt/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        broker_url: broker.url,
        mqtt_protocol: '5',
        gateway_url: stack.url,
        gateway_password_file: pwFile,
        topic_annotation: 'topic-main',
        rebuild_interval: '500ms',
        client_id: 'main-process',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => killGroup(child.pid));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => out.includes('"subscribed"'), 20_000, 'main subscribed');
    const p = await mqtt.connectAsync(broker.url, { clientId: 'pub-main' });
    t.teardown(() => p.endAsync(true));
    await p.publishAsync('main/in', 'from main', { qos: 1 });
    await until(async () => (await records(recD)).length === 1, 10_000, 'invoked by the process');
    t.match((await records(recD))[0], { topic: 'main/in', connector: 'faas-ts-mqtt' });
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'clean exit');
    t.notMatch(out, stack.credentials.password, 'password never logged');
  });
});
