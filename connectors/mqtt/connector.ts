/**
 * MQTT connector: subscribes to the topics named by functions' `topic`
 * annotation and invokes each matching function through the gateway with the
 * message payload as the body. QoS 1 messages are acknowledged only after the
 * gateway accepted the invocation (sync: answered; async: queued), so a
 * connector that dies mid-message leaves it to the broker to redeliver.
 *
 * Acks are held back through mqtt.js `handleMessage`, which also holds the
 * next packet until the current one is done: messages are handled one at a
 * time, in order. Use async mode when functions are slow.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { ConnectorError, ConnectorErrorCodes } from '../errors.js';
import { createGatewayClient, type GatewayClient, type InvokeResult } from '../gateway-client.js';
import { silentLogger, type ConnectorLogger } from '../logger.js';
import { createMqttMetrics, type MqttMetrics } from './metrics.js';
import { bindingsFor, minimalFilters, topicMatches, type Binding } from './topics.js';

export const CONNECTOR_HEADER = 'faas-ts-mqtt';

export interface MqttConnectorOptions {
  /** mqtt://host:port, mqtts://…, ws://… */
  brokerUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  /** TLS material for mqtts:// (PEM). */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean } | undefined;
  clientId: string;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5. */
  protocolVersion?: 4 | 5;
  /** Ask the broker for a clean session on every connect (default true). */
  cleanSession?: boolean;
  gateway: { url: string; credentials?: { user: string; password: string } | undefined };
  mode: 'sync' | 'async';
  /** How often the function list is re-read (ms, default 10 s). */
  refreshIntervalMs?: number;
  /** Annotation naming the topic filters (default "topic"). */
  topicAnnotation?: string;
  /** Annotation naming the topic the sync response is published to (default "topic-reply"; "" disables). */
  replyTopicAnnotation?: string;
  /** Subscription QoS (default 1). */
  qos?: 0 | 1;
  /** Gateway request timeout (ms, default 60 s). */
  invokeTimeoutMs?: number;
  /** Attempts per invocation when the gateway is unreachable or answers 502/503 (default 3). */
  maxAttempts?: number;
  /** Broker reconnect period (ms, default 1 s). */
  reconnectPeriodMs?: number;
  logger?: ConnectorLogger;
  registry?: Registry;
}

export interface MqttConnectorStatus {
  connected: boolean;
  /** Filters subscribed right now. */
  subscriptions: string[];
  /** What the last successful refresh found. */
  bindings: Binding[];
}

export interface MqttConnector {
  readonly registry: Registry;
  /** Re-read the function list now and resubscribe on changes. */
  refresh(): Promise<void>;
  status(): MqttConnectorStatus;
  close(): Promise<void>;
}

const RETRY_STATUSES = new Set([502, 503]);

export async function createMqttConnector(opts: MqttConnectorOptions): Promise<MqttConnector> {
  const log = opts.logger ?? silentLogger;
  const registry = opts.registry ?? new Registry();
  const metrics: MqttMetrics = createMqttMetrics(registry);
  const qos = opts.qos ?? 1;
  const v5 = opts.protocolVersion === 5;
  const topicAnnotation = opts.topicAnnotation ?? 'topic';
  const replyAnnotation = opts.replyTopicAnnotation ?? 'topic-reply';
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
  const refreshMs = opts.refreshIntervalMs ?? 10_000;
  const gateway: GatewayClient = createGatewayClient({
    url: opts.gateway.url,
    credentials: opts.gateway.credentials,
    invokeTimeoutMs: opts.invokeTimeoutMs ?? 60_000,
  });

  let bindings: Binding[] = [];
  let desired: string[] = [];
  const subscribed = new Set<string>();
  let closing = false;
  let refreshTimer: NodeJS.Timeout | undefined;
  let reconcileChain: Promise<void> = Promise.resolve();
  const inflight = new Set<Promise<void>>();

  const clientOptions: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: opts.protocolVersion ?? 4,
    clean: opts.cleanSession ?? true,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
    connectTimeout: 10_000,
    resubscribe: false,
  };
  if (opts.username !== undefined) clientOptions.username = opts.username;
  if (opts.password !== undefined) clientOptions.password = opts.password;
  if (opts.tls) Object.assign(clientOptions, opts.tls);

  const client: MqttClient = mqtt.connect(opts.brokerUrl, clientOptions);
  // mqtt.js sends the PUBACK only after handleMessage calls back, for 3.1.1 and 5
  // alike (customHandleAcks is honoured for MQTT 5 only).
  client.handleMessage = (packet, done) => {
    const topic = packet.topic.toString();
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const work = handle(topic, payload, packet).then(
      () => done(),
      (err: unknown) => {
        // handle() does not reject by design; ack anyway so one bad message cannot wedge the session.
        log.error({ err, topic }, 'mqtt message handler failed');
        done();
      },
    );
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
  };

  client.on('connect', (connack) => {
    metrics.connected.set(1);
    metrics.connects.inc();
    log.info({ broker: opts.brokerUrl, sessionPresent: connack.sessionPresent }, 'connected to broker');
    if (!connack.sessionPresent) subscribed.clear();
    metrics.subscriptions.set(subscribed.size);
    void reconcile();
  });
  client.on('close', () => {
    metrics.connected.set(0);
  });
  client.on('offline', () => log.warn({ broker: opts.brokerUrl }, 'broker offline, reconnecting'));
  client.on('error', (err) => log.warn({ err: err.message, broker: opts.brokerUrl }, 'mqtt client error'));
  // mqtt.js emits 'message' as well; the work happens in handleMessage.
  client.on('message', () => {});

  async function invokeOnce(b: Binding, topic: string, message: Buffer, packet: IPublishPacket): Promise<InvokeResult> {
    const headers: Record<string, string> = { 'x-topic': topic, 'x-connector': CONNECTOR_HEADER };
    const ct = packet.properties?.contentType;
    headers['content-type'] = ct ?? 'application/octet-stream';
    let lastErr: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const res = await gateway.invoke({ fn: b.fn, async: opts.mode === 'async', method: 'POST', headers, body: message });
        if (!RETRY_STATUSES.has(res.status) || attempt === maxAttempts) return res;
        lastErr = new Error(`status ${res.status}`);
      } catch (err) {
        lastErr = err;
        if (attempt === maxAttempts) throw err;
      }
      if (closing) break;
      await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
    }
    throw lastErr;
  }

  async function deliver(b: Binding, topic: string, message: Buffer, packet: IPublishPacket): Promise<void> {
    const end = metrics.duration.startTimer({ function: b.fn, mode: opts.mode });
    let res: InvokeResult;
    try {
      res = await invokeOnce(b, topic, message, packet);
    } catch (err) {
      end();
      metrics.messages.inc({ topic: b.filter, function: b.fn, status: 'unreachable' });
      log.error({ fn: b.fn, topic, err: (err as Error).message }, 'invocation failed: gateway unreachable');
      return;
    }
    end();
    metrics.messages.inc({ topic: b.filter, function: b.fn, status: String(res.status) });
    const ok = res.status >= 200 && res.status < 300;
    if (!ok) {
      log.warn({ fn: b.fn, topic, status: res.status, body: res.body.toString('utf8', 0, 200) }, 'function invocation not successful');
    } else {
      log.debug({ fn: b.fn, topic, status: res.status, bytes: message.length }, 'invoked');
    }
    if (opts.mode !== 'sync') return;
    const replyTo = packet.properties?.responseTopic ?? b.replyTopic;
    if (!replyTo) return;
    const pubOpts: mqtt.IClientPublishOptions = { qos };
    if (v5) {
      pubOpts.properties = {
        ...(packet.properties?.correlationData ? { correlationData: packet.properties.correlationData } : {}),
        ...(res.headers['content-type'] ? { contentType: res.headers['content-type'] } : {}),
        userProperties: { status: String(res.status), function: b.fn },
      };
    }
    // Not awaited: its PUBACK is an incoming packet, and mqtt.js reads no
    // incoming packet until this message's handleMessage has called back.
    client.publish(replyTo, res.body, pubOpts, (err) => {
      if (err) {
        metrics.replies.inc({ function: b.fn, status: 'error' });
        log.warn({ fn: b.fn, replyTo, err: err.message }, 'could not publish the reply');
      } else metrics.replies.inc({ function: b.fn, status: 'ok' });
    });
  }

  async function handle(topic: string, message: Buffer, packet: IPublishPacket): Promise<void> {
    const targets = bindings.filter((b) => topicMatches(b.filter, topic));
    if (targets.length === 0) {
      metrics.unmatched.inc();
      log.debug({ topic }, 'no function for topic');
      return;
    }
    await Promise.all(targets.map((b) => deliver(b, topic, message, packet)));
  }

  function reconcile(): Promise<void> {
    reconcileChain = reconcileChain.then(async () => {
      if (closing || !client.connected) return;
      const want = new Set(desired);
      const drop = [...subscribed].filter((f) => !want.has(f));
      const add = desired.filter((f) => !subscribed.has(f));
      try {
        if (drop.length > 0) {
          await client.unsubscribeAsync(drop);
          for (const f of drop) subscribed.delete(f);
          log.info({ filters: drop }, 'unsubscribed');
        }
        if (add.length > 0) {
          const granted = await client.subscribeAsync(Object.fromEntries(add.map((f) => [f, { qos }])));
          for (const g of granted) {
            if (g.qos === 128 || (g.qos as number) > 2) log.warn({ filter: g.topic }, 'broker refused the subscription');
            else subscribed.add(g.topic);
          }
          log.info({ filters: add }, 'subscribed');
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'subscription change failed; retried on the next refresh');
      }
      metrics.subscriptions.set(subscribed.size);
    });
    return reconcileChain;
  }

  async function refresh(): Promise<void> {
    let functions;
    try {
      functions = await gateway.listFunctions();
    } catch (err) {
      metrics.refreshErrors.inc();
      const code = err instanceof ConnectorError ? err.code : ConnectorErrorCodes.GATEWAY_UNREACHABLE;
      log.warn({ code, err: (err as Error).message }, 'could not read the function list');
      return;
    }
    const found = bindingsFor(functions, topicAnnotation, replyAnnotation || undefined);
    for (const bad of found.invalid) log.warn(bad, 'ignoring invalid topic filter in annotation');
    const before = JSON.stringify(bindings);
    bindings = found.bindings;
    desired = minimalFilters(bindings.map((b) => b.filter));
    metrics.bindings.set(bindings.length);
    if (JSON.stringify(bindings) !== before) {
      log.info({ bindings: bindings.map((b) => `${b.filter} → ${b.fn}`) }, 'function topics changed');
    }
    await reconcile();
  }

  function schedule(): void {
    if (closing) return;
    refreshTimer = setTimeout(() => {
      void refresh().finally(schedule);
    }, refreshMs);
    refreshTimer.unref?.();
  }

  await refresh();
  schedule();

  return {
    registry,
    refresh,
    status: () => ({ connected: client.connected, subscriptions: [...subscribed].sort(), bindings: [...bindings] }),
    async close() {
      if (closing) return;
      closing = true;
      if (refreshTimer) clearTimeout(refreshTimer);
      await Promise.allSettled([...inflight]);
      await reconcileChain.catch(() => {});
      await client.endAsync(false).catch(() => client.endAsync(true));
      metrics.connected.set(0);
      await gateway.close();
    },
  };
}
