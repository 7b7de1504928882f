/** Public surface of the event connectors (MQTT topics → functions, CoAP → functions). */
export { createMqttConnector, CONNECTOR_HEADER } from './mqtt/connector.js';
export type { MqttConnector, MqttConnectorOptions, MqttConnectorStatus } from './mqtt/connector.js';
export { bindingsFor, filterCovers, isValidFilter, minimalFilters, parseTopicAnnotation, topicMatches } from './mqtt/topics.js';
export type { Binding } from './mqtt/topics.js';
export { ConnectorError, ConnectorErrorCodes, type ConnectorErrorCode } from './errors.js';
export type { ConnectorLogger } from './logger.js';
export { createCoapEndpoint, parseTarget, COAP_CONNECTOR_HEADER } from './coap/endpoint.js';
export type { CoapEndpoint, CoapEndpointOptions } from './coap/endpoint.js';
export { coapCodeFor } from './coap/codes.js';
export { loadMqttConfig, loadCoapConfig, coapConfigured, parseDurationMs } from './config.js';
export type { MqttConnectorConfig, CoapConnectorConfig, Env } from './config.js';
export { serveMetrics } from './run.js';
export { mqttOptionsFrom } from './mqtt/options.js';
