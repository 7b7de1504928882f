/**
 * /system/namespaces and /system/namespace/:ns (spec §1.10). Namespace CRUD
 * is optional on the Provider; a missing capability answers 501.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { functionNamespaceSchema, type FunctionNamespace } from '../../provider/index.js';
import type { GatewayContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { sendText } from '../http-errors.js';
import { bodySchema, optionalNamespace } from './util.js';

const NOT_IMPLEMENTED = 'Feature not implemented in this version of OpenFaaS';

function unsupported(): never {
  throw new GatewayError('GW_ERR_NOT_IMPLEMENTED', NOT_IMPLEMENTED);
}

function pathNamespace(request: FastifyRequest): string | undefined {
  return optionalNamespace((request.params as { ns?: string }).ns);
}

function requireName(name: string | undefined): string {
  if (!name) throw new GatewayError('GW_ERR_INVALID_NAME', 'namespace name is required');
  return name;
}

export async function systemNamespaceRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { provider } = ctx;

  app.get('/system/namespaces', async (_request, reply) => {
    const list = await provider.namespaces();
    return reply.header('content-type', 'application/json').send(JSON.stringify(list));
  });

  const body = { body: bodySchema(functionNamespaceSchema) };

  const get = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!provider.getNamespace) unsupported();
    const name = requireName(pathNamespace(request));
    const ns = await provider.getNamespace(name);
    if (!ns) return sendText(reply, 404, `namespace ${name} not found`);
    return reply.header('content-type', 'application/json').send(JSON.stringify(ns));
  };

  const upsert = (method: 'createNamespace' | 'updateNamespace') =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const fn = provider[method];
      if (!fn) unsupported();
      const sent = (request.body ?? {}) as FunctionNamespace;
      // faas-cli creates with POST /system/namespace/ (name in the body only).
      const name = requireName(pathNamespace(request) ?? optionalNamespace(sent.name));
      const ns: FunctionNamespace = { name };
      if (sent.labels) ns.labels = sent.labels;
      if (sent.annotations) ns.annotations = sent.annotations;
      await fn.call(provider, ns);
      return reply.code(202).send();
    };

  const remove = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!provider.deleteNamespace) unsupported();
    await provider.deleteNamespace(requireName(pathNamespace(request)));
    return reply.code(202).send();
  };

  for (const url of ['/system/namespace/', '/system/namespace/:ns']) {
    app.get(url, get);
    app.post(url, { schema: body }, upsert('createNamespace'));
    app.put(url, { schema: body }, upsert('updateNamespace'));
    app.delete(url, remove);
  }
}
