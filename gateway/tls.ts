/**
 * Optional TLS on the gateway's API port (`tls_cert_file` + `tls_key_file`).
 * The PEM files are read once at startup; a missing/unreadable file or a key
 * that does not match the certificate stops startup with GW_ERR_CONFIG.
 * With TLS on, the API port speaks HTTPS only (no plain-HTTP fallback).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, rootCertificates, type PeerCertificate } from 'node:tls';
import { GatewayError } from './errors.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * `tls_cert_file` and `tls_key_file` from env: both or neither (a lone one is
 * a problem), each must be a readable file. Undefined when TLS is off.
 */
export function parseTlsFiles(env: Record<string, string | undefined>, problems: string[]): TlsFiles | undefined {
  const certFile = (env.tls_cert_file ?? '').trim();
  const keyFile = (env.tls_key_file ?? '').trim();
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    problems.push(`TLS needs both tls_cert_file and tls_key_file (only ${certFile ? 'tls_cert_file' : 'tls_key_file'} is set)`);
    return undefined;
  }
  for (const [name, path] of [['tls_cert_file', certFile], ['tls_key_file', keyFile]] as const) {
    try {
      accessSync(path, constants.R_OK);
      if (!statSync(path).isFile()) problems.push(`${name}=${JSON.stringify(path)} is not a file`);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return Object.freeze({ certFile: resolve(certFile), keyFile: resolve(keyFile) });
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GatewayError('GW_ERR_CONFIG', `${variable}=${JSON.stringify(path)} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Read and check the certificate and key (they must parse and belong together). */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readPem('tls_cert_file', files.certFile);
  const key = readPem('tls_key_file', files.keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's message names the problem (bad PEM, key mismatch); it never contains the key.
    throw new GatewayError(
      'GW_ERR_CONFIG',
      `tls_cert_file=${JSON.stringify(files.certFile)} / tls_key_file=${JSON.stringify(files.keyFile)} are not a usable certificate and key: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { cert, key };
}

/** An HTTP server, or an HTTPS one when `tls` is given, with the same options. */
export function createApiServer(tls: TlsMaterial | undefined, options: ServerOptions, listener: RequestListener): Server {
  if (!tls) return createHttpServer(options, listener);
  return createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, listener) as unknown as Server;
}

/**
 * TLS client options for talking to this gateway over loopback (faas-ts up's
 * own queue worker): the certificate is trusted (as well as the system roots,
 * for a CA-issued one) and pinned by fingerprint instead of checked against
 * the host name, since `127.0.0.1` is rarely in a certificate.
 */
export function pinnedClientOptions(cert: Buffer): {
  ca: string[];
  checkServerIdentity: (host: string, peer: PeerCertificate) => Error | undefined;
} {
  const expected = new X509Certificate(cert).fingerprint256;
  return {
    ca: [...rootCertificates, cert.toString('utf8')],
    checkServerIdentity: (_host, peer) =>
      peer.fingerprint256 === expected ? undefined : new Error(`gateway certificate ${peer.fingerprint256} is not the configured one (${expected})`),
  };
}
