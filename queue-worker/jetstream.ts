/**
 * NATS JetStream backend (spec §1.6): the publisher (a RequestQueuer), the
 * consumer (a QueueSource over a durable pull consumer shared by all
 * workers) and the dead-letter stream.
 *
 * Layout, for stream S on subject X:
 *   S        subjects [X], file storage, work-queue retention (a message is
 *            removed once acked or terminated)
 *   S_DLQ    subjects [X.dead-letter], file storage, limits retention: dead
 *            letters stay until replayed or discarded. The original payload
 *            is kept byte for byte; why it died is in Faas-Dlq-* headers.
 *   consumer durable (default `faas`), explicit ack, ack_wait, max_ack_pending,
 *            max_deliver unlimited: the worker, not the server, decides when
 *            to stop (the server's max_deliver would strand the message).
 */
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  headers as natsHeaders,
  nanos,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import type { QueueRequest, RequestQueuer } from '../provider/index.js';
import { QueueWorkerError } from './errors.js';
import type { DeadLetter, DeadLetterInfo, DeadLetterReason, DeadLetterStore, Delivery, QueueSource } from './source.js';

export interface JetStreamConnectOptions {
  /** e.g. `nats://127.0.0.1:4222`; ignored when `connection` is given. */
  servers?: string | string[];
  /** Reuse an open connection (the caller closes it). */
  connection?: NatsConnection;
  /** Connection name shown by the server. */
  name?: string;
  /** -1 = forever (default 120, as upstream's faas_max_reconnect). */
  maxReconnectAttempts?: number;
  reconnectTimeWaitMs?: number;
  /** Stream name (default `faas-request`). */
  stream?: string;
  /** Subject the gateway publishes to (default `faas-request`). */
  subject?: string;
  /** Stream max_msg_size; default: the server's max_payload. */
  maxMsgBytes?: number;
  /**
   * Called when a connection this module opened is closed by the client
   * library, not by close(): the server stayed unreachable for
   * `maxReconnectAttempts`. Nothing more will be received on it.
   */
  onConnectionLost?: (err: Error | undefined) => void;
}

export const DLQ_SUFFIX = '_DLQ';
const DLQ_SUBJECT_SUFFIX = '.dead-letter';

interface Conn {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subject: string;
  dlqStream: string;
  dlqSubject: string;
  maxMsgBytes: number;
  close(): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.code === '404' || /not found/i.test(e?.message ?? '');
}

async function open(opts: JetStreamConnectOptions): Promise<Conn> {
  const owned = !opts.connection;
  const nc =
    opts.connection ??
    (await connect({
      servers: opts.servers ?? 'nats://127.0.0.1:4222',
      name: opts.name ?? 'faas-ts-queue',
      maxReconnectAttempts: opts.maxReconnectAttempts ?? 120,
      reconnectTimeWait: opts.reconnectTimeWaitMs ?? 2000,
    }));
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const stream = opts.stream ?? 'faas-request';
    const subject = opts.subject ?? 'faas-request';
    const maxMsgBytes = opts.maxMsgBytes ?? nc.info?.max_payload ?? 1024 * 1024;
    const conn: Conn = {
      nc,
      js,
      jsm,
      stream,
      subject,
      dlqStream: stream + DLQ_SUFFIX,
      dlqSubject: subject + DLQ_SUBJECT_SUFFIX,
      maxMsgBytes,
      close: async () => {
        if (owned && !nc.isClosed()) await nc.drain().catch(() => nc.close());
      },
    };
    await ensureStream(jsm, stream, subject, RetentionPolicy.Workqueue, maxMsgBytes);
    await ensureStream(jsm, conn.dlqStream, conn.dlqSubject, RetentionPolicy.Limits, -1);
    if (owned) {
      let closing = false;
      const close = conn.close;
      conn.close = async () => {
        closing = true;
        await close();
      };
      void nc.closed().then((err) => {
        if (!closing) opts.onConnectionLost?.(err ?? undefined);
      });
    }
    return conn;
  } catch (err) {
    if (owned) await nc.close();
    throw err;
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  retention: RetentionPolicy,
  maxMsgBytes: number,
): Promise<void> {
  try {
    const info = await jsm.streams.info(name);
    if (!info.config.subjects?.includes(subject)) {
      await jsm.streams.update(name, { subjects: [...(info.config.subjects ?? []), subject] });
    }
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.streams.add({
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention,
    discard: DiscardPolicy.Old,
    max_msg_size: maxMsgBytes,
    duplicate_window: nanos(120_000),
  });
}

export interface JetStreamQueuer extends RequestQueuer {
  /** Publish raw bytes to the subject (tests and replays). */
  publishRaw(data: Uint8Array): Promise<void>;
}

/** A RequestQueuer that resolves once JetStream has stored the message (PubAck). */
export async function createJetStreamQueuer(opts: JetStreamConnectOptions): Promise<JetStreamQueuer> {
  let conn = await open(opts);
  let closed = false;
  let reopening: Promise<Conn> | undefined;
  /**
   * The connection, opened again if the client library gave up on it (the
   * server was down longer than maxReconnectAttempts allow): without this every
   * later enqueue failed until the gateway was restarted.
   */
  const current = async (): Promise<Conn> => {
    if (!conn.nc.isClosed() || opts.connection) return conn;
    reopening ??= open(opts)
      .then((c) => (conn = c))
      .finally(() => (reopening = undefined));
    try {
      return await reopening;
    } catch (err) {
      throw new QueueWorkerError('QW_ERR_ENQUEUE', `JetStream unreachable: ${(err as Error).message}`, { cause: err });
    }
  };
  const publish = async (data: Uint8Array): Promise<void> => {
    if (closed) throw new QueueWorkerError('QW_ERR_CLOSED', 'queue closed');
    const conn = await current();
    if (data.byteLength > conn.maxMsgBytes) {
      throw new QueueWorkerError(
        'QW_ERR_TOO_LARGE',
        `message of ${data.byteLength} bytes exceeds the queue's maximum of ${conn.maxMsgBytes} bytes`,
      );
    }
    try {
      await conn.js.publish(conn.subject, data, { expect: { streamName: conn.stream } });
    } catch (err) {
      throw new QueueWorkerError('QW_ERR_ENQUEUE', `JetStream publish failed: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    enqueue: (req: QueueRequest) => publish(Buffer.from(JSON.stringify(req))),
    publishRaw: publish,
    async close() {
      closed = true;
      await reopening?.catch(() => undefined);
      await conn.close();
    },
  };
}

export interface JetStreamSourceOptions extends JetStreamConnectOptions {
  /** Durable consumer name (default `faas`, upstream's queue group). */
  durable?: string;
  ackWaitMs?: number;
  /** Server-side cap on delivered-but-unacked messages for the whole consumer (default: batch). */
  maxAckPending?: number;
  /** Messages this worker pulls ahead (default 16). */
  batch?: number;
}

export interface JetStreamSource extends QueueSource {
  readonly deadLetters: DeadLetterStore;
  /** Stop and close the connection (when we opened it). */
  close(): Promise<void>;
}

function headerSafe(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 1024);
}

/** A durable pull consumer on the stream, plus the dead-letter store. */
export async function createJetStreamSource(opts: JetStreamSourceOptions): Promise<JetStreamSource> {
  const conn = await open(opts);
  const durable = opts.durable ?? 'faas';
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const batch = Math.max(1, opts.batch ?? 16);
  const cfg = {
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: Math.max(1, opts.maxAckPending ?? batch),
    max_deliver: -1,
  };
  try {
    await conn.jsm.consumers.add(conn.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: conn.subject,
      ...cfg,
    });
  } catch (err) {
    // Exists with other settings: adopt ours (each worker start sets them).
    if (!/already exists|consumer name already in use/i.test((err as Error).message)) throw err;
    await conn.jsm.consumers.update(conn.stream, durable, cfg);
  }
  const consumer = await conn.js.consumers.get(conn.stream, durable);
  const heartbeatMs = Math.max(100, Math.floor(ackWaitMs / 3));
  let messages: ConsumerMessages | undefined;
  let starting: Promise<void> | undefined;
  let stopped = false;
  const deadLetters = createDeadLetterStore(conn);
  // Pulled messages not yet handed to the worker. Kept here (callback mode,
  // not the client's iterator) so stop() can hand them back with nak() at
  // once, and kept alive with working() while they wait.
  const local: JsMsg[] = [];
  let waiter: ((m: JsMsg | null) => void) | undefined;
  const keepAlive = setInterval(() => {
    for (const m of local) m.working();
  }, heartbeatMs);
  keepAlive.unref();

  let cachedPending = { at: 0, value: 0 };

  async function start(): Promise<void> {
    messages = await consumer.consume({
      max_messages: batch,
      callback: (m) => {
        if (stopped) m.nak();
        else if (waiter) {
          const w = waiter;
          waiter = undefined;
          w(m);
        } else local.push(m);
      },
    });
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    clearInterval(keepAlive);
    // stop(), not close(): close() waits for an iterator reader we do not have.
    messages?.stop();
    for (const m of local.splice(0)) m.nak();
    const w = waiter;
    waiter = undefined;
    w?.(null);
  }

  function toDelivery(m: JsMsg): Delivery {
    return {
      id: String(m.seq),
      data: m.data,
      attempt: m.info.deliveryCount,
      ack: async () => m.ack(),
      retry: async (delayMs) => m.nak(delayMs > 0 ? delayMs : undefined),
      working: () => m.working(),
      deadLetter: async (info) => {
        await publishDeadLetter(conn, m.data, String(m.seq), info);
        // term() with no reason: server 2.9 redelivers on `+TERM <reason>`.
        m.term();
      },
    };
  }

  return {
    kind: 'jetstream',
    heartbeatMs,
    deadLetters,
    async next() {
      if (stopped) return null;
      if (!messages) await (starting ??= start());
      const m = local.shift() ?? (stopped ? null : await new Promise<JsMsg | null>((r) => (waiter = r)));
      return m ? toDelivery(m) : null;
    },
    stop,
    async pending() {
      if (Date.now() - cachedPending.at > 1000) {
        const info = await conn.jsm.consumers.info(conn.stream, durable);
        cachedPending = { at: Date.now(), value: info.num_pending };
      }
      return cachedPending.value;
    },
    async close() {
      await stop();
      await conn.close();
    },
  };
}

async function publishDeadLetter(conn: Conn, data: Uint8Array, originalId: string, info: DeadLetterInfo): Promise<void> {
  const h = natsHeaders();
  h.set('Faas-Dlq-Reason', info.reason);
  h.set('Faas-Dlq-Detail', headerSafe(info.detail));
  h.set('Faas-Dlq-Attempts', String(info.attempts));
  if (info.lastStatus !== undefined) h.set('Faas-Dlq-Last-Status', String(info.lastStatus));
  if (info.function) h.set('Faas-Dlq-Function', headerSafe(info.function));
  h.set('Faas-Dlq-Original-Seq', originalId);
  h.set('Faas-Dlq-Time', new Date().toISOString());
  // msgID makes a repeat (crash between copy and term) a no-op within the duplicate window.
  await conn.js.publish(conn.dlqSubject, data, {
    headers: h,
    msgID: `${conn.stream}:${originalId}`,
    expect: { streamName: conn.dlqStream },
  });
}

function createDeadLetterStore(conn: Conn): DeadLetterStore {
  async function get(seq: number): Promise<DeadLetter | undefined> {
    try {
      const sm = await conn.jsm.streams.getMessage(conn.dlqStream, { seq });
      const h = sm.header;
      const status = h.get('Faas-Dlq-Last-Status');
      return {
        id: String(sm.seq),
        reason: (h.get('Faas-Dlq-Reason') || 'malformed') as DeadLetterReason,
        detail: h.get('Faas-Dlq-Detail'),
        attempts: Number(h.get('Faas-Dlq-Attempts') || 0),
        ...(status ? { lastStatus: Number(status) } : {}),
        ...(h.get('Faas-Dlq-Function') ? { function: h.get('Faas-Dlq-Function') } : {}),
        deadAt: h.get('Faas-Dlq-Time') || sm.time.toISOString(),
        payload: Buffer.from(sm.data).toString('utf8'),
      };
    } catch (err) {
      if (isNotFound(err) || /no message found/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }
  async function allSeqs(limit: number): Promise<number[]> {
    const { state } = await conn.jsm.streams.info(conn.dlqStream);
    const out: number[] = [];
    if (state.messages === 0) return out;
    for (let s = state.first_seq; s <= state.last_seq && out.length < limit; s++) out.push(s);
    return out;
  }
  return {
    async list(opts) {
      const limit = opts?.limit ?? 100;
      const out: DeadLetter[] = [];
      const { state } = await conn.jsm.streams.info(conn.dlqStream);
      if (state.messages === 0) return out;
      for (let s = state.first_seq; s <= state.last_seq && out.length < limit; s++) {
        const d = await get(s);
        if (d) out.push(d);
      }
      return out;
    },
    async replay(ids) {
      const seqs = ids ? ids.map(Number) : await allSeqs(Number.MAX_SAFE_INTEGER);
      let n = 0;
      for (const seq of seqs) {
        let sm;
        try {
          sm = await conn.jsm.streams.getMessage(conn.dlqStream, { seq });
        } catch (err) {
          if (ids && (isNotFound(err) || /no message found/i.test((err as Error).message))) {
            throw new QueueWorkerError('QW_ERR_NOT_FOUND', `dead letter ${seq} not found`);
          }
          continue;
        }
        // 1. back on the work subject (durable), 2. only then out of the DLQ.
        await conn.js.publish(conn.subject, sm.data, { expect: { streamName: conn.stream } });
        await conn.jsm.streams.deleteMessage(conn.dlqStream, seq, false);
        n++;
      }
      return n;
    },
    async discard(ids) {
      let n = 0;
      for (const id of ids) {
        try {
          if (await conn.jsm.streams.deleteMessage(conn.dlqStream, Number(id), false)) n++;
        } catch (err) {
          if (!/no message found|not found/i.test((err as Error).message)) throw err;
        }
      }
      return n;
    },
  };
}

/** The dead-letter store alone (e.g. for the gateway's admin routes). */
export async function createJetStreamDeadLetters(
  opts: JetStreamConnectOptions,
): Promise<DeadLetterStore & { close(): Promise<void> }> {
  const conn = await open(opts);
  return { ...createDeadLetterStore(conn), close: () => conn.close() };
}
