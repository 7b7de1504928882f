/**
 * mode=static: serve files under static_path (spec §1.4): index.html for
 * directories, a listing when there is none, 404, Content-Type by extension,
 * single byte ranges and If-Modified-Since.
 */
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import type { RequestTarget } from '../cgi-env.js';
import { logRequest, since } from '../request-log.js';
import type { Executor, ExecutorContext } from './types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.xml': 'text/xml; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
};

export function contentTypeFor(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createStaticExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  const root = resolve(config.staticPath);

  function simple(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), ...extra });
    res.end(text);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const start = process.hrtime.bigint();
    const q = target.url.indexOf('?');
    const rawPath = q < 0 ? target.url : target.url.slice(0, q);
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(rawPath);
    } catch {
      return simple(res, 400, 'Bad Request\n');
    }
    if (target.method !== 'GET' && target.method !== 'HEAD') {
      return simple(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    }
    if (urlPath.endsWith('/index.html')) {
      return simple(res, 301, '', { Location: urlPath.slice(0, -'index.html'.length) + (q < 0 ? '' : target.url.slice(q)) });
    }
    let file = resolve(join(root, urlPath));
    if (file !== root && !file.startsWith(root + sep)) return simple(res, 404, '404 page not found\n');
    let st: Stats;
    try {
      st = await fs.stat(file);
      if (st.isDirectory()) {
        if (!urlPath.endsWith('/')) return simple(res, 301, '', { Location: `${rawPath}/` });
        try {
          const index = join(file, 'index.html');
          st = await fs.stat(index);
          file = index;
        } catch {
          return listing(res, file, urlPath, target.method === 'HEAD');
        }
      }
    } catch {
      return simple(res, 404, '404 page not found\n');
    }
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
    const ims = req.headers['if-modified-since'];
    if (ims && !Number.isNaN(Date.parse(ims)) && lastModified.getTime() <= Date.parse(ims)) {
      res.writeHead(304, { 'Last-Modified': lastModified.toUTCString() });
      res.end();
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': contentTypeFor(file),
      'Last-Modified': lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
    };
    let startByte = 0;
    let endByte = st.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range && st.size > 0) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          startByte = Math.max(st.size - Number(m[2]), 0);
        } else {
          startByte = Number(m[1]);
          if (m[2] !== '') endByte = Math.min(Number(m[2]), st.size - 1);
        }
        if (startByte > endByte || startByte >= st.size) {
          return simple(res, 416, 'invalid range\n', { 'Content-Range': `bytes */${st.size}` });
        }
        status = 206;
        headers['Content-Range'] = `bytes ${startByte}-${endByte}/${st.size}`;
      }
    }
    headers['Content-Length'] = String(st.size === 0 ? 0 : endByte - startByte + 1);
    res.writeHead(status, headers);
    if (target.method === 'HEAD' || st.size === 0) {
      res.end();
    } else {
      const stream = createReadStream(file, { start: startByte, end: endByte });
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    }
    res.once('finish', () =>
      logRequest(logger, req, { method: target.method, url: target.url, status: String(status), bytes: Number(headers['Content-Length']), seconds: since(start) }),
    );
  }

  async function listing(res: ServerResponse, dir: string, urlPath: string, head: boolean): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    const items = entries
      .map((e) => {
        const name = e.isDirectory() ? `${e.name}/` : e.name;
        return `<a href="${escapeHtml(encodeURIComponent(e.name) + (e.isDirectory() ? '/' : ''))}">${escapeHtml(name)}</a>`;
      })
      .join('\n');
    const html = `<!doctype html>\n<meta name="viewport" content="width=device-width">\n<title>${escapeHtml(urlPath)}</title>\n<pre>\n${items}\n</pre>\n`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(html)) });
    res.end(head ? undefined : html);
  }

  return {
    async start() {
      const st = await fs.stat(root).catch(() => undefined);
      if (!st?.isDirectory()) logger.log(`Warning: static_path ${root} is not a directory`);
    },
    handle(req, res, target) {
      serve(req, res, target).catch((err: Error) => {
        logger.log(`Static file error: ${err.message}`);
        if (!res.headersSent) simple(res, 500, 'Internal Server Error\n');
        else res.destroy();
      });
    },
    isReady: () => true,
    shutdown() {},
    async close() {},
  };
}
