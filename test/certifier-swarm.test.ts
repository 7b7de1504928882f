/**
 * The OpenFaaS certifier's cases (test/certifier-cases.ts, spec/cli-and-certifier.md
 * §4.3) against the gateway (on the host, basic auth on) in front of provider-swarm
 * on a real swarm (test/docker.ts). `functions/alpine:latest` resolves to a local
 * image: the faas-ts watchdog in classic mode with the host's coreutils
 * (scripts/images/build-classic.sh), no registry.
 *
 * Isolation on a swarm other tests share: the cases run in a namespace of their own
 * (`<test id>-fn`, created here) instead of the provider's default, so the services
 * are named `NAME_<test id>-fn` and the listing holds only this test's functions.
 * Hence the deploys the certifier sends without a namespace carry it here, and
 * /system/namespaces must contain the namespace (other namespaces may exist).
 *
 * Every case applies on Swarm; none is skipped. Differences from the local run:
 * - the secret update keeps the certifier's own pauses (1 s + 5 s): swarm updates are
 *   rolling (start-first), so the old replica serves until the new one is ready, and
 *   only the certifier's timeline (not "the very next 200") is the contract;
 * `memory-limit` asks for 5Mi, below Docker's 6 MB minimum, so its task never starts:
 * the certifier only deploys it and reads its status, which works.
 */
import t from 'tap';
import { findRepoRoot, gitSha } from '../cli/config.js';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { swarmTestTarget } from '../provider-swarm/testing.js';
import { certifierCases } from './certifier-cases.js';
import { dockerCli, ensureClassicImage } from './docker.js';

const creds = { user: 'admin', password: 'certifier-swarm' };

t.test('certifier cases on provider-swarm', async (t) => {
  const target = await swarmTestTarget({ endpointMode: 'dnsrr-hostport' });
  await ensureClassicImage();
  const ns = `${target.prefix}-fn`;
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true', GIT_SHA: gitSha(findRepoRoot()) }), {
    provider: target.provider,
    credentials: creds,
  });
  t.teardown(async () => {
    await gw.close();
    await target.cleanup();
    // secrets and the namespace record are named after the namespace (NAME_NS, faas-ts-ns.NS)
    for (const kind of ['secret', 'config']) {
      const names = (await dockerCli([kind, 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.includes(target.prefix));
      if (names.length > 0) await dockerCli([kind, 'rm', ...names]).catch(() => undefined);
    }
  });
  await target.provider.createNamespace({ name: ns, labels: { 'faas-ts.test': target.prefix } });
  const auth = { Authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` };
  await certifierCases(t, {
    gw: gw.url,
    auth,
    ns,
    nsIsDefault: false,
    onlyNamespace: false,
    invokeMs: 45_000,
    readyMs: 45_000,
    certifierPauses: true,
  });
});
