/**
 * POST /system/alert (spec gateway-api.md §1.7, §7): the Alertmanager webhook.
 * 200 empty on success (including nothing to do / unknown function), 400
 * `Unable to parse alert, bad format.` for a body that is not an alert
 * payload (an empty body included), 500 with one `[i] error` line per failed
 * scale call. The body is parsed here (not by the /system JSON parser) so
 * that bad JSON gets upstream's message.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { sendText } from '../http-errors.js';
import { parseAlertPayload, type AlertHandler } from '../scaling/index.js';

const BAD_FORMAT = 'Unable to parse alert, bad format.';

export async function systemAlertRoutes(app: FastifyInstance, ctx: GatewayContext, alerts: AlertHandler): Promise<void> {
  await app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', { parseAs: 'string', bodyLimit: ctx.config.maxBodyBytes }, (_request, body, done) => {
      done(null, body);
    });
    scoped.post('/system/alert', async (request, reply) => {
      const text = typeof request.body === 'string' ? request.body.trim() : '';
      let payload;
      try {
        payload = parseAlertPayload(JSON.parse(text));
      } catch {
        return sendText(reply, 400, BAD_FORMAT, false);
      }
      const errors = await alerts.handle(payload);
      if (errors.length > 0) return sendText(reply, 500, errors.map((e) => `${e}\n`).join(''), false);
      return reply.code(200).send();
    });
  });
}
