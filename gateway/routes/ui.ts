/**
 * GET /ui/* : static files of the web UI from `ui_dir` (spec §1.12).
 * Directory requests serve index.html; paths are confined to ui_dir.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { sendText } from '../http-errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

const UI_HEADERS = {
  'access-control-allow-headers': 'Content-Type',
  'access-control-allow-methods': 'GET',
  'access-control-allow-origin': 'raw.githubusercontent.com',
  // The UI acts with the admin's credentials: no other site may frame it (clickjacking).
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

export async function uiRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const root = ctx.config.uiDir ? resolve(ctx.config.uiDir) : undefined;

  app.get('/ui/*', async (request, reply) => {
    reply.headers(UI_HEADERS);
    const notFound = () => sendText(reply, 404, '404 page not found');
    if (!root) return notFound();
    let rel = (request.params as { '*': string })['*'] ?? '';
    try {
      rel = decodeURIComponent(rel);
    } catch {
      return notFound();
    }
    if (rel.includes('\0')) return notFound();
    let file = resolve(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) return notFound();
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info || !info.isFile()) return notFound();
    return reply
      .header('content-type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('content-length', info.size)
      .send(createReadStream(file));
  });
}
