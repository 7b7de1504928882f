/** Parsed MQTT config → connector options (reads the password and TLS files it names). */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { MqttConnectorConfig } from '../config.js';
import { ConnectorError, ConnectorErrorCodes } from '../errors.js';
import type { MqttConnectorOptions } from './connector.js';

function readSecret(file: string | undefined, what: string): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConnectorError(ConnectorErrorCodes.CONFIG, `${what}: cannot read "${file}": ${(err as Error).message}`);
  }
}

/** Connector options from the parsed config (reads the secret and TLS files it names). */
export function mqttOptionsFrom(config: MqttConnectorConfig): Omit<MqttConnectorOptions, 'logger' | 'registry'> {
  const password = config.password ?? readSecret(config.passwordFile, 'mqtt_password_file');
  const gatewayPassword = config.gatewayPassword ?? readSecret(config.gatewayPasswordFile, 'gateway_password_file');
  const tls: NonNullable<MqttConnectorOptions['tls']> = {};
  if (config.tlsCaFile) tls.ca = readSecret(config.tlsCaFile, 'mqtt_tls_ca_file')!;
  if (config.tlsCertFile) tls.cert = readSecret(config.tlsCertFile, 'mqtt_tls_cert_file')!;
  if (config.tlsKeyFile) tls.key = readSecret(config.tlsKeyFile, 'mqtt_tls_key_file')!;
  if (config.tlsInsecure) tls.rejectUnauthorized = false;
  return {
    brokerUrl: config.brokerUrl,
    username: config.username,
    password,
    tls: Object.keys(tls).length > 0 ? tls : undefined,
    clientId: config.clientId === 'faas-ts-mqtt-connector' ? `faas-ts-mqtt-${hostname()}` : config.clientId,
    protocolVersion: config.protocolVersion,
    cleanSession: config.cleanSession,
    qos: config.qos,
    gateway: {
      url: config.gatewayUrl,
      credentials: gatewayPassword !== undefined ? { user: config.gatewayUser, password: gatewayPassword } : undefined,
    },
    mode: config.mode,
    refreshIntervalMs: config.refreshIntervalMs,
    invokeTimeoutMs: config.invokeTimeoutMs,
    topicAnnotation: config.topicAnnotation,
    replyTopicAnnotation: config.replyTopicAnnotation,
  };
}
