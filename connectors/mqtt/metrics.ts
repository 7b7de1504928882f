/** Prometheus metrics of one MQTT connector instance, registered on its own Registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MqttMetrics {
  messages: Counter<'topic' | 'function' | 'status'>;
  unmatched: Counter<never>;
  duration: Histogram<'function' | 'mode'>;
  replies: Counter<'function' | 'status'>;
  connected: Gauge<never>;
  connects: Counter<never>;
  subscriptions: Gauge<never>;
  bindings: Gauge<never>;
  refreshErrors: Counter<never>;
}

export function createMqttMetrics(registry: Registry): MqttMetrics {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'connector_mqtt_messages_total',
      help: 'Messages handed to functions, by topic filter, function and outcome (HTTP status, or "unreachable")',
      labelNames: ['topic', 'function', 'status'],
      registers,
    }),
    unmatched: new Counter({
      name: 'connector_mqtt_unmatched_messages_total',
      help: 'Messages received on a topic no function wants any more',
      registers,
    }),
    duration: new Histogram({
      name: 'connector_mqtt_invocation_duration_seconds',
      help: 'Time from message receipt to the gateway accepting (async) or answering (sync) the invocation',
      labelNames: ['function', 'mode'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    replies: new Counter({
      name: 'connector_mqtt_replies_total',
      help: 'Function responses published to a reply topic, by outcome',
      labelNames: ['function', 'status'],
      registers,
    }),
    connected: new Gauge({ name: 'connector_mqtt_connected', help: '1 while connected to the broker', registers }),
    connects: new Counter({ name: 'connector_mqtt_connects_total', help: 'Successful (re)connections to the broker', registers }),
    subscriptions: new Gauge({ name: 'connector_mqtt_subscriptions', help: 'Topic filters currently subscribed', registers }),
    bindings: new Gauge({ name: 'connector_mqtt_bindings', help: 'Function/topic-filter pairs from annotations', registers }),
    refreshErrors: new Counter({
      name: 'connector_mqtt_refresh_errors_total',
      help: 'Failed reads of the function list from the gateway',
      registers,
    }),
  };
}
