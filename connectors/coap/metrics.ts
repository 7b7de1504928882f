/** Prometheus metrics of one CoAP endpoint, on its own Registry. */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface CoapMetrics {
  requests: Counter<'function' | 'method' | 'code'>;
  duration: Histogram<'function' | 'method'>;
  bytesIn: Counter<never>;
  bytesOut: Counter<never>;
}

export function createCoapMetrics(registry: Registry): CoapMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'connector_coap_requests_total',
      help: 'CoAP requests by function ("-" when unknown or unnamed), method and response code',
      labelNames: ['function', 'method', 'code'],
      registers,
    }),
    duration: new Histogram({
      name: 'connector_coap_request_duration_seconds',
      help: 'Time from a complete CoAP request (after block-wise reassembly) to the response',
      labelNames: ['function', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    bytesIn: new Counter({ name: 'connector_coap_request_bytes_total', help: 'Request payload bytes', registers }),
    bytesOut: new Counter({ name: 'connector_coap_response_bytes_total', help: 'Response payload bytes', registers }),
  };
}
