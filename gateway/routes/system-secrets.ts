/** /system/secrets CRUD (spec §1.8, cli-and-certifier §3.8). Listing never returns values. */
import type { FastifyInstance } from 'fastify';
import { ProviderError, secretSchema, serializeSecretListItem, type Secret } from '../../provider/index.js';
import type { GatewayContext } from '../context.js';
import { bodySchema, optionalNamespace, queryParam } from './util.js';

/** DNS-1123 subdomain, as faas-cli validates secret names. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkSecretName(name: string): void {
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw ProviderError.invalid(
      `secret name ${JSON.stringify(name)} is invalid: must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')`,
    );
  }
}

function toSecret(body: Secret, queryNamespace: string | undefined): Secret {
  checkSecretName(body.name);
  const secret: Secret = { name: body.name };
  const namespace = optionalNamespace(body.namespace || queryNamespace);
  if (namespace) secret.namespace = namespace;
  if (body.value !== undefined) secret.value = body.value;
  if (body.rawValue !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.rawValue)) throw ProviderError.invalid('rawValue must be base64');
    secret.rawValue = body.rawValue;
  }
  return secret;
}

export async function systemSecretRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { provider } = ctx;
  const schema = { body: bodySchema(secretSchema) };

  app.get('/system/secrets', async (request, reply) => {
    const list = await provider.listSecrets(optionalNamespace(queryParam(request, 'namespace')));
    return reply.header('content-type', 'application/json').send(JSON.stringify(list.map(serializeSecretListItem)));
  });

  app.post('/system/secrets', { schema }, async (request, reply) => {
    await provider.createSecret(toSecret(request.body as Secret, queryParam(request, 'namespace')));
    return reply.code(201).send();
  });

  app.put('/system/secrets', { schema }, async (request, reply) => {
    await provider.updateSecret(toSecret(request.body as Secret, queryParam(request, 'namespace')));
    return reply.code(202).send();
  });

  app.delete('/system/secrets', { schema }, async (request, reply) => {
    const body = request.body as Secret;
    checkSecretName(body.name);
    await provider.deleteSecret(body.name, optionalNamespace(body.namespace || queryParam(request, 'namespace')));
    return reply.code(202).send();
  });
}
