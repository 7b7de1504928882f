/** GET /system/info (spec §1.6): provider info merged with the gateway's version. */
import type { FastifyInstance } from 'fastify';
import type { GatewayInfo, ProviderInfo, VersionInfo } from '../../provider/index.js';
import type { GatewayContext } from '../context.js';

/** Node's arch names in Go's spelling, as upstream clients expect. */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };
  return map[arch] ?? arch;
}

function providerInfo(info: ProviderInfo | null | undefined): ProviderInfo | null {
  if (!info || typeof info !== 'object') return null;
  const version: VersionInfo | null = info.version
    ? {
        ...(info.version.commit_message ? { commit_message: info.version.commit_message } : {}),
        sha: info.version.sha ?? '',
        release: info.version.release ?? '',
      }
    : null;
  return { provider: info.provider ?? '', version, orchestration: info.orchestration ?? '' };
}

export async function systemInfoRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { version } = ctx.config;
  app.get('/system/info', async (_request, reply) => {
    let provider: ProviderInfo | null = null;
    try {
      provider = providerInfo(await ctx.provider.info());
    } catch (err) {
      ctx.logger?.warn({ err: (err as Error).message }, 'provider info failed');
    }
    const info: GatewayInfo = {
      provider,
      version: {
        ...(version.commitMessage ? { commit_message: version.commitMessage } : {}),
        sha: version.sha,
        release: version.release,
      },
      arch: goArch(),
    };
    return reply.header('content-type', 'application/json').send(JSON.stringify(info));
  });
}
