/**
 * Event connector benchmark (not a test).
 *
 *   npx tsx bench/connectors.ts [messages] [requestsPerLevel]   (defaults 2000, 1000)
 *
 * 1. MQTT: `messages` QoS 1 messages published as fast as the broker takes
 *    them (mosquitto on loopback) to a topic bound to a recorder function;
 *    rate = messages / time from the first publish to the last recorded
 *    invocation. Sync mode (connector waits for each answer) and async mode
 *    (connector hands each message to the durable queue, a worker with 8 in
 *    flight invokes).
 * 2. CoAP vs HTTP (tinyFaaS's comparison): the same echo function called
 *    through the CoAP endpoint (confirmable, one UDP socket per client) and
 *    straight through the gateway over HTTP (one keep-alive connection per
 *    client), closed loop at 1..64 clients, `requestsPerLevel` calls per level.
 * Everything runs on this machine: gateway, provider-local watchdog, broker,
 * connector and load generator share 2 cores.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as CoapAgent, request as coapRequest } from 'coap';
import mqtt from 'mqtt';
import { Client } from 'undici';
import { createCoapEndpoint, createMqttConnector } from '../connectors/index.js';
import { createBroker, startStack, until } from '../connectors/test-support.js';

const messages = Number(process.argv[2] ?? 2000);
const perLevel = Number(process.argv[3] ?? 1000);
const watchdog = [process.execPath, new URL('../dist/fwatchdog.cjs', import.meta.url).pathname];

async function lines(file: string): Promise<number> {
  try {
    const text = await readFile(file, 'utf8');
    let n = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
    return n;
  } catch {
    return 0;
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-conn-'));
const broker = await createBroker(dir);
const stack = await startStack(watchdog);
try {
  // ---- MQTT ----
  const mqttRows: string[] = [];
  for (const mode of ['sync', 'async'] as const) {
    const file = join(dir, `${mode}.jsonl`);
    const ann = `topic-${mode}`;
    await stack.deploy({ service: `rec-${mode}`, image: 'recorder:latest', annotations: { [ann]: `bench/${mode}` }, envVars: { RECORD_FILE: file } });
    const conn = await createMqttConnector({
      brokerUrl: broker.url,
      clientId: `bench-${mode}`,
      gateway: { url: stack.url, credentials: stack.credentials },
      mode,
      topicAnnotation: ann,
      refreshIntervalMs: 1000,
    });
    await until(() => conn.status().subscriptions.length === 1, 10_000, 'subscribed');
    const pub = await mqtt.connectAsync(broker.url, { clientId: `bench-pub-${mode}` });
    const payload = Buffer.from(JSON.stringify({ sensor: 'temp-1', value: 21.5, unit: 'C' }));
    const t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) sends.push(pub.publishAsync(`bench/${mode}`, payload, { qos: 1 }));
    await Promise.all(sends);
    const published = performance.now() - t0;
    await until(async () => (await lines(file)) >= messages, 300_000, `${mode}: all invocations`);
    const total = performance.now() - t0;
    const got = await lines(file);
    mqttRows.push(
      `| ${mode} | ${messages} | ${(messages / (published / 1000)).toFixed(0)} | ${(total / 1000).toFixed(2)} | ${(messages / (total / 1000)).toFixed(0)} | ${got - messages} |`,
    );
    await pub.endAsync();
    await conn.close();
  }
  console.log(`\n### MQTT publish → function completion (${messages} QoS 1 messages, ${JSON.stringify({ sensor: 'temp-1', value: 21.5, unit: 'C' }).length} B each)\n`);
  console.log('| mode | messages | publish rate (msg/s) | publish → last completion (s) | end-to-end rate (msg/s) | extra invocations |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of mqttRows) console.log(r);

  // ---- CoAP vs HTTP ----
  await stack.deploy({ service: 'echo', image: 'echo:latest' });
  const endpoint = await createCoapEndpoint({ port: 0, gateway: { url: stack.url } });
  const body = Buffer.from('hello from a constrained device');
  const coapCall = (agent: CoapAgent) =>
    new Promise<void>((resolve, reject) => {
      const req = coapRequest({ hostname: '127.0.0.1', port: endpoint.port, method: 'POST', pathname: '/echo', confirmable: true, agent });
      req.on('response', (res) => (String(res.code) === '2.05' ? resolve() : reject(new Error(`code ${String(res.code)}`))));
      req.on('error', reject);
      req.end(body);
    });
  const rows: string[] = [];
  for (const clients of [1, 4, 16, 64]) {
    for (const proto of ['coap', 'http'] as const) {
      const lat: number[] = [];
      let next = 0;
      let errors = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          const agent = new CoapAgent({ type: 'udp4' });
          const http = new Client(stack.url, { pipelining: 1, connections: 1 } as ConstructorParameters<typeof Client>[1]);
          while (next < perLevel) {
            next++;
            const s = performance.now();
            try {
              if (proto === 'coap') await coapCall(agent);
              else {
                const res = await http.request({ path: '/function/echo', method: 'POST', body });
                await res.body.text();
                if (res.statusCode !== 200) throw new Error(String(res.statusCode));
              }
              lat.push(performance.now() - s);
            } catch {
              errors++;
            }
          }
          agent.close();
          await http.close();
        }),
      );
      const secs = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      const mean = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length);
      rows.push(
        `| ${clients} | ${proto} | ${lat.length} | ${errors} | ${mean.toFixed(2)} | ${pct(lat, 50).toFixed(2)} | ${pct(lat, 99).toFixed(2)} | ${(lat.length / secs).toFixed(0)} |`,
      );
    }
  }
  await endpoint.close();
  console.log(`\n### CoAP endpoint vs HTTP gateway, same echo function (${perLevel} calls per row, closed loop)\n`);
  console.log('| clients | protocol | ok | errors | mean (ms) | p50 (ms) | p99 (ms) | req/s |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
} finally {
  await stack.close();
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
}
