/**
 * /system/functions (list, deploy, update, delete), /system/function/:name
 * and /system/scale-function/:name (spec §1.3-1.5, cli-and-certifier §3.1-3.4).
 */
import type { FastifyInstance } from 'fastify';
import {
  assertDns1123Label,
  deleteFunctionRequestSchema,
  functionDeploymentSchema,
  scaleServiceRequestSchema,
  serializeFunctionStatus,
  splitFunctionName,
  ProviderError,
  type DeleteFunctionRequest,
  type FunctionDeployment,
  type FunctionStatus,
  type ScaleServiceRequest,
} from '../../provider/index.js';
import { qualifiedName, type GatewayContext } from '../context.js';
import { sendText } from '../http-errors.js';
import { checkSecretName } from './system-secrets.js';
import { bodySchema, optionalNamespace, queryParam } from './util.js';

const SCALE_MAX_LABEL = 'com.openfaas.scale.max';

/**
 * An environment no process can be given (NUL bytes, a name that is empty or
 * holds `=`) would be accepted and leave a function that never starts.
 */
function checkEnvironment(body: FunctionDeployment): void {
  for (const [name, value] of Object.entries(body.envVars ?? {})) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw ProviderError.invalid(`envVars name ${JSON.stringify(name)} is invalid: must be non-empty, without '=' or NUL`);
    }
    if (value.includes('\0')) throw ProviderError.invalid(`envVars value of ${JSON.stringify(name)} must not contain NUL`);
  }
  if (body.envProcess?.includes('\0')) throw ProviderError.invalid('envProcess must not contain NUL');
}

/** Copy only the FunctionDeployment keys (unknown keys are ignored, not rejected). */
function toDeployment(body: FunctionDeployment): FunctionDeployment {
  assertDns1123Label('service', body.service);
  if (body.image.trim() === '') throw ProviderError.invalid('image must not be empty');
  checkEnvironment(body);
  const spec: FunctionDeployment = { service: body.service, image: body.image };
  const namespace = optionalNamespace(body.namespace);
  if (namespace) spec.namespace = namespace;
  if (body.envProcess !== undefined) spec.envProcess = body.envProcess;
  if (body.envVars !== undefined) spec.envVars = body.envVars;
  if (body.constraints !== undefined) spec.constraints = body.constraints;
  if (body.secrets !== undefined) {
    for (const name of body.secrets) checkSecretName(name);
    spec.secrets = body.secrets;
  }
  if (body.labels !== undefined) spec.labels = body.labels;
  if (body.annotations !== undefined) spec.annotations = body.annotations;
  if (body.limits !== undefined) spec.limits = body.limits;
  if (body.requests !== undefined) spec.requests = body.requests;
  if (body.readOnlyRootFilesystem !== undefined) spec.readOnlyRootFilesystem = body.readOnlyRootFilesystem;
  return spec;
}

/**
 * Replicas after clamping: at least 1 (0 allowed when scale from zero is on,
 * since an invocation wakes the function again), at most the function's
 * `com.openfaas.scale.max` label and the gateway's `max_replicas` (0 = no cap).
 */
export function clampReplicas(
  requested: number,
  labels: Record<string, string> | null | undefined,
  opts: { allowZero: boolean; maxReplicas: number },
): number {
  let max = Number.MAX_SAFE_INTEGER;
  const raw = labels?.[SCALE_MAX_LABEL]?.trim();
  if (raw && /^\d+$/.test(raw) && Number(raw) > 0) max = Number(raw);
  if (opts.maxReplicas > 0) max = Math.min(max, opts.maxReplicas);
  const min = opts.allowZero ? 0 : 1;
  return Math.min(Math.max(requested, min), Math.max(max, min));
}

export async function systemFunctionRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { provider } = ctx;

  const withCount = (fn: FunctionStatus, namespace: string | undefined): FunctionStatus => {
    const count = ctx.metrics.invocationCount(qualifiedName(ctx, fn.name, fn.namespace || namespace));
    return serializeFunctionStatus(count ? { ...fn, invocationCount: count } : { ...fn, invocationCount: 0 });
  };

  app.get('/system/functions', async (request, reply) => {
    const namespace = optionalNamespace(queryParam(request, 'namespace'));
    const list = await provider.list(namespace);
    return reply.header('content-type', 'application/json').send(JSON.stringify(list.map((f) => withCount(f, namespace))));
  });

  app.post('/system/functions', { schema: { body: bodySchema(functionDeploymentSchema) } }, async (request, reply) => {
    // POST over an existing function updates it (safe re-runs of `faas-cli deploy --update=false`).
    const spec = toDeployment(request.body as FunctionDeployment);
    await provider.deploy(spec);
    ctx.resolver.invalidate(qualifiedName(ctx, spec.service, spec.namespace));
    return reply.code(202).send();
  });

  app.put('/system/functions', { schema: { body: bodySchema(functionDeploymentSchema) } }, async (request, reply) => {
    const spec = toDeployment(request.body as FunctionDeployment);
    await provider.update(spec);
    ctx.resolver.invalidate(qualifiedName(ctx, spec.service, spec.namespace));
    return reply.code(202).send();
  });

  app.delete('/system/functions', { schema: { body: bodySchema(deleteFunctionRequestSchema) } }, async (request, reply) => {
    const body = request.body as DeleteFunctionRequest;
    // Older clients (the certifier) send the namespace in the query; the body wins.
    const namespace = optionalNamespace(body.namespace || queryParam(request, 'namespace'));
    assertDns1123Label('functionName', body.functionName);
    await provider.remove(body.functionName, namespace);
    ctx.resolver.invalidate(qualifiedName(ctx, body.functionName, namespace));
    return reply.code(202).send();
  });

  app.get('/system/function/:name', async (request, reply) => {
    const { name, namespace } = nameAndNamespace(request.params as { name: string }, queryParam(request, 'namespace'));
    const fn = await provider.get(name, namespace);
    if (!fn) return sendText(reply, 404, `function ${qualifiedName(ctx, name, namespace)} not found`);
    return reply.header('content-type', 'application/json').send(JSON.stringify(withCount(fn, namespace)));
  });

  app.post(
    '/system/scale-function/:name',
    { schema: { body: bodySchema(scaleServiceRequestSchema) } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Partial<ScaleServiceRequest>;
      const { name, namespace } = nameAndNamespace(
        request.params as { name: string },
        queryParam(request, 'namespace') || body.namespace,
      );
      const fn = await provider.get(name, namespace);
      if (!fn) return sendText(reply, 404, `function ${qualifiedName(ctx, name, namespace)} not found`);
      const replicas = clampReplicas(body.replicas ?? 0, fn.labels, {
        allowZero: ctx.config.scaleFromZero,
        maxReplicas: ctx.config.maxReplicas,
      });
      await provider.scale(name, replicas, namespace);
      ctx.resolver.invalidate(qualifiedName(ctx, name, namespace));
      return reply.code(202).send();
    },
  );
}

/** Path name (`fn` or `fn.ns`) plus optional namespace query; the explicit namespace wins. */
function nameAndNamespace(params: { name: string }, namespace: string | undefined): { name: string; namespace?: string } {
  let name = params.name;
  let ns = namespace;
  if (!ns && name.includes('.')) ({ name, namespace: ns } = splitFunctionName(name));
  assertDns1123Label('function name', name);
  return { name, namespace: optionalNamespace(ns) };
}
