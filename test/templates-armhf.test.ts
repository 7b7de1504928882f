/**
 * armhf: the bash-streaming template built for linux/arm/v7 and answering a
 * request under qemu-user-static (scripts/images/build-armhf-template.sh; about
 * 6 s once the armhf Node base exists). Building that base (debootstrap under
 * qemu) takes minutes, so without the base image this test runs only when
 * FAAS_TS_ARMHF=1; it skips with the reason otherwise.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { dockerCli, ensureSwarm } from './docker.js';

const run = promisify(execFile);
const script = new URL('../scripts/images/build-armhf-template.sh', import.meta.url).pathname;
const BASE = 'faas-ts/node-base:18-armhf';

async function skipReason(): Promise<string | false> {
  if (!(await ensureSwarm().then(() => true, () => false))) return 'no Docker engine could be reached or started';
  if (process.getuid?.() !== 0) return 'needs root (binfmt_misc, debootstrap)';
  if (process.env.FAAS_TS_ARMHF === '1') return false;
  if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-arm')) return 'qemu-arm binfmt not registered (FAAS_TS_ARMHF=1 sets it up, minutes)';
  if (!(await dockerCli(['image', 'inspect', BASE]).then(() => true, () => false))) return `${BASE} missing (FAAS_TS_ARMHF=1 builds it, minutes)`;
  return false;
}

t.test('bash-streaming template as linux/arm/v7 under qemu', { skip: await skipReason() }, async (t) => {
  const { stderr } = await run(script, [], { timeout: process.env.FAAS_TS_ARMHF === '1' ? 1_800_000 : 120_000, env: { ...process.env, TAG: `faas-ts-test/bash-streaming:armhf-${process.pid}` } });
  t.teardown(() => dockerCli(['rmi', '-f', `faas-ts-test/bash-streaming:armhf-${process.pid}`]).then(() => undefined, () => undefined));
  t.match(stderr, /linux\/arm\/v7 user=1000:1000/, 'image recorded as linux/arm/v7, non-root');
  t.match(stderr, /answer: hello from armhf\|second line\|; uname -m in the container: armv7l/);
  t.match(stderr, /OK: the bash-streaming template runs as linux\/arm\/v7 under qemu/);
});
