/** GET /healthz, GET /metrics and GET / (spec §1.12, §6). None needs credentials. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

export async function opsRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    try {
      await ctx.provider.health?.();
    } catch (err) {
      ctx.logger?.warn({ err: (err as Error).message }, 'provider health check failed');
      // Upstream relays an unreachable provider as 502 with an empty body.
      return reply.code(502).send();
    }
    return reply.header('content-type', 'text/plain; charset=utf-8').send('OK');
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(body);
  });

  app.get('/', async (_request, reply) => reply.redirect('/ui/', 307));
}
