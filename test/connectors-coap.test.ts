/**
 * CoAP endpoint end to end: the `coap` npm client → the endpoint → a real
 * faas-ts gateway on provider-local with bundled watchdogs.
 * Needs dist/fwatchdog.cjs.
 */
import t from 'tap';
import { Agent, request as coapRequest, type IncomingMessage, type OptionValue } from 'coap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { request } from 'undici';
import { createCoapEndpoint } from '../connectors/index.js';
import { startStack } from '../connectors/test-support.js';
import { killGroup, until, watchdogCommand } from './helpers.js';

async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const { port } = sock.address();
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

interface CoapAnswer {
  code: string;
  payload: Buffer;
  format: unknown;
}

function call(
  agent: Agent,
  port: number,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  pathname: string,
  opts: { payload?: Buffer | string; query?: string; format?: string; block1?: number } = {},
): Promise<CoapAnswer> {
  return new Promise((resolve, reject) => {
    const req = coapRequest({ hostname: '127.0.0.1', port, method, pathname, query: opts.query, confirmable: true, agent });
    if (opts.format) req.setOption('Content-Format', opts.format as OptionValue);
    if (opts.block1 !== undefined) req.setOption('Block1', Buffer.of(opts.block1));
    req.on('response', (res: IncomingMessage) => {
      resolve({ code: String(res.code), payload: res.payload, format: res.headers['Content-Format'] });
    });
    req.on('error', reject);
    req.on('timeout', () => reject(new Error('coap timeout')));
    req.end(opts.payload);
  });
}

t.test('coap endpoint in front of a real gateway', async (t) => {
  const stack = await startStack(watchdogCommand());
  t.teardown(() => stack.close());
  await stack.deploy({ service: 'echo', image: 'echo:latest' });
  await stack.deploy({ service: 'boom', image: 'fail:latest' });

  const endpoint = await createCoapEndpoint({ port: 0, gateway: { url: stack.url } });
  t.teardown(() => endpoint.close());
  t.ok(endpoint.port > 0, `listening on ${endpoint.port}`);
  const agent = new Agent({ type: 'udp4' });
  // close() calls back only when a socket is still open; it is shut when idle anyway.
  t.teardown(() => void agent.close());

  await t.test('POST: payload → body, response → 2.05 with content-format', async (t) => {
    const res = await call(agent, endpoint.port, 'POST', '/echo', { payload: 'hello coap', format: 'text/plain' });
    t.equal(res.code, '2.05');
    t.equal(res.payload.toString(), 'HELLO COAP');
    t.equal(res.format, 'text/plain');
  });

  await t.test('GET with query, NAME.NS and a sub-path', async (t) => {
    const res = await call(agent, endpoint.port, 'GET', '/echo.openfaas-fn/a/b', { query: 'size=5' });
    t.equal(res.code, '2.05');
    t.equal(res.payload.toString(), 'xxxxx');
    const ct = await call(agent, endpoint.port, 'PUT', '/echo', { payload: '{"a":1}', format: 'application/json' });
    t.equal(ct.code, '2.05');
    t.equal(ct.format, 'application/json', 'json content-format round trip');
  });

  await t.test('status mapping: 201, 404, 429, 500', async (t) => {
    t.equal((await call(agent, endpoint.port, 'POST', '/echo', { query: 'status=201', payload: 'x' })).code, '2.01');
    t.equal((await call(agent, endpoint.port, 'POST', '/echo', { query: 'status=429', payload: 'x' })).code, '4.29');
    const missing = await call(agent, endpoint.port, 'GET', '/no-such-function');
    t.equal(missing.code, '4.04', 'unknown function');
    const noName = await call(agent, endpoint.port, 'GET', '/');
    t.equal(noName.code, '4.04', 'no function named');
    const err = await call(agent, endpoint.port, 'POST', '/boom', { payload: 'x' });
    t.equal(err.code, '5.00', 'function error');
    t.equal(err.payload.toString(), 'this function always fails');
  });

  await t.test('large payloads: Block1 request, Block2 response', async (t) => {
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26);
    const res = await call(agent, endpoint.port, 'POST', '/echo', { payload: big, format: 'application/octet-stream', block1: 6 });
    t.equal(res.code, '2.05');
    t.equal(res.payload.length, big.length, 'whole body came back');
    t.ok(res.payload.equals(Buffer.from(big.toString('latin1').toUpperCase(), 'latin1')), 'byte for byte');
    const down = await call(agent, endpoint.port, 'GET', '/echo', { query: 'size=50000' });
    t.equal(down.code, '2.05');
    t.equal(down.payload.length, 50_000, 'large response reassembled from Block2');
  });

  await t.test('gateway unreachable → 5.02; metrics count codes', async (t) => {
    const dead = await createCoapEndpoint({ port: 0, gateway: { url: 'http://127.0.0.1:1' } });
    t.teardown(() => dead.close());
    t.equal((await call(agent, dead.port, 'GET', '/echo')).code, '5.02');
    const text = await endpoint.registry.getSingleMetricAsString('connector_coap_requests_total');
    t.match(text, /connector_coap_requests_total\{function="echo",method="POST",code="2.05"\} \d+/);
    t.match(text, /connector_coap_requests_total\{function="-",method="GET",code="4.04"\} 2/);
    t.match(text, /connector_coap_requests_total\{function="boom",method="POST",code="5.00"\} 1/);
  });

  await t.test('same answer as HTTP for the same function', async (t) => {
    const http = await request(`${stack.url}/function/echo`, { method: 'POST', body: 'same' });
    const coap = await call(agent, endpoint.port, 'POST', '/echo', { payload: 'same' });
    t.equal(coap.payload.toString(), await http.body.text());
  });

  await t.test('connectors/coap/main.ts as a process: env config, serves, exits on SIGTERM', async (t) => {
    const port = await freeUdpPort();
    const root = new URL('..', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', 'connectors/coap/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', coap_port: String(port), gateway_url: stack.url, log_level: 'info' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => killGroup(child.pid));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => out.includes('coap endpoint started'), 20_000, 'endpoint started');
    const res = await call(agent, port, 'POST', '/echo', { payload: 'via main' });
    t.equal(res.code, '2.05');
    t.equal(res.payload.toString(), 'VIA MAIN');
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'clean exit');

    const bad = spawn(process.execPath, ['--import', 'tsx', 'connectors/coap/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', coap_port: 'x', gateway_url: 'nope' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    bad.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => bad.once('exit', (c) => r(c)));
    t.equal(code, 2);
    t.match(err, /coap_port:[^]*gateway_url:/, 'names every bad variable');
  });
});
