'use strict';
// HTTP server for the watchdog's http mode (`mode=http`, `fprocess=node index.js`).
// Only node: built-ins, so the template needs no `npm install`. It implements the
// handler contract of the upstream node templates:
//   module.exports = async (event, context) => ...
//   event   = { body, headers, method, query, path }
//   context = status(code), headers(obj), succeed(value), fail(err)
// Bodies (as body-parser in the upstream template, and as the watchdog's inproc
// mode): text/* → string, application/json → parsed value, urlencoded → object,
// anything else → {}; RAW_BODY=true gives a Buffer for every type. A request
// without Content-Type counts as text/plain. Objects and arrays are answered as
// JSON text; like Express, a response without a Content-Type header gets
// text/html for strings and application/octet-stream for Buffers. Limits: MAX_RAW_SIZE / MAX_JSON_SIZE
// (default 100kb, same units as upstream: b, kb, mb, gb). A thrown or rejected
// error answers 500 with err.toString() unless the handler set another status.

const http = require('node:http');
const path = require('node:path');

const handler = require(path.join(__dirname, 'function', 'handler.js'));

const rawBody = process.env.RAW_BODY === 'true';
const rawLimit = parseSize(process.env.MAX_RAW_SIZE, 100 * 1024);
const jsonLimit = parseSize(process.env.MAX_JSON_SIZE, 100 * 1024);
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function parseSize(value, fallback) {
  if (!value) return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!m) return fallback;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] || 'b').toLowerCase()];
  return Math.floor(Number(m[1]) * unit);
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'request entity too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(contentType) {
  return contentType.split(';')[0].trim().toLowerCase();
}

function parseQuery(searchParams) {
  const out = {};
  for (const [key, value] of searchParams) {
    if (!(key in out)) out[key] = value;
    else if (Array.isArray(out[key])) out[key].push(value);
    else out[key] = [out[key], value];
  }
  return out;
}

async function parseBody(req) {
  if (!req.headers['content-type']) req.headers['content-type'] = 'text/plain';
  const type = mediaType(req.headers['content-type']);
  if (rawBody) return readBody(req, rawLimit);
  const isJson = type === 'application/json' || type.endsWith('+json');
  const buf = await readBody(req, isJson ? jsonLimit : rawLimit);
  if (type.startsWith('text/')) return buf.toString('utf8');
  if (isJson) {
    if (buf.length === 0) return {};
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `invalid JSON body: ${err.message}`);
    }
  }
  if (type === 'application/x-www-form-urlencoded') return parseQuery(new URLSearchParams(buf.toString('utf8')));
  return {};
}

class FunctionContext {
  constructor(done) {
    this.statusCode = 200;
    this.headerValues = {};
    this.cbCalled = 0;
    this.done = done;
  }

  status(code) {
    if (!code) return this.statusCode;
    this.statusCode = code;
    return this;
  }

  headers(value) {
    if (!value) return this.headerValues;
    this.headerValues = value;
    return this;
  }

  succeed(value) {
    this.cbCalled++;
    this.done(undefined, value);
  }

  fail(err) {
    if (Number(this.statusCode) === 200) this.statusCode = 500;
    this.cbCalled++;
    this.done(err);
  }
}

function isPlainObjectOrArray(v) {
  return Array.isArray(v) || (v !== null && typeof v === 'object' && v.constructor === Object);
}

function send(res, status, headers, value) {
  if (res.headersSent) return;
  let body;
  let defaultType;
  if (value === undefined || value === null) {
    body = Buffer.alloc(0);
  } else if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    body = Buffer.from(value);
    defaultType = 'application/octet-stream';
  } else if (isPlainObjectOrArray(value)) {
    body = Buffer.from(JSON.stringify(value));
    defaultType = 'text/html; charset=utf-8';
  } else {
    body = Buffer.from(String(value));
    defaultType = 'text/html; charset=utf-8';
  }
  const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
  try {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (!hasType && defaultType) res.setHeader('Content-Type', defaultType);
    res.setHeader('Content-Length', body.length);
    res.writeHead(Number(status) || 200);
  } catch (err) {
    // invalid header name/value or status from the handler
    console.error(err);
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(String(err));
    return;
  }
  res.end(body);
}

async function onRequest(req, res) {
  if (!METHODS.has(req.method)) {
    res.writeHead(405, { Allow: [...METHODS].join(', '), 'Content-Length': 0 });
    res.end();
    return;
  }
  const url = new URL(req.url, 'http://localhost');
  let body;
  try {
    body = await parseBody(req);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 400;
    send(res, status, {}, err.message);
    return;
  }
  const event = { body, headers: req.headers, method: req.method, query: parseQuery(url.searchParams), path: url.pathname };
  const context = new FunctionContext((err, value) => {
    if (err) {
      console.error(err);
      const text = err && typeof err.toString === 'function' ? err.toString() : String(err);
      send(res, context.status(), {}, text);
      return;
    }
    send(res, context.status(), context.headers(), value);
  });
  try {
    const value = await handler(event, context, (err, v) => (err ? context.fail(err) : context.succeed(v)));
    if (!context.cbCalled) context.succeed(value);
  } catch (err) {
    // Upstream keeps status 200 here (a quirk); a thrown error is a server error.
    if (Number(context.statusCode) === 200) context.statusCode = 500;
    context.done(err);
  }
}

const port = Number(process.env.http_port || 3000);
const host = '127.0.0.1';
const server = http.createServer((req, res) => {
  onRequest(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, {}, String(err));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  console.log(`node20 listening on port: ${server.address().port}`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
