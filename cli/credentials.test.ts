import t from 'tap';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAdminCredentials, generatePassword, PASSWORD_FILE, USER_FILE } from './credentials.js';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-creds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('first call generates a strong password, stored 0600 in a 0700 folder', async (t) => {
  const dir = join(await tempDir(t), 'gateway-secrets');
  const first = await ensureAdminCredentials(dir);
  t.equal(first.user, 'admin');
  t.equal(first.passwordFile, join(dir, PASSWORD_FILE));
  t.match(first.newPassword, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  t.equal(await readFile(join(dir, PASSWORD_FILE), 'utf8'), first.newPassword);
  t.equal(await readFile(join(dir, USER_FILE), 'utf8'), 'admin');
  t.equal((await stat(join(dir, PASSWORD_FILE))).mode & 0o777, 0o600);
  t.equal((await stat(join(dir, USER_FILE))).mode & 0o777, 0o600);
  t.equal((await stat(dir)).mode & 0o777, 0o700);

  const second = await ensureAdminCredentials(dir);
  t.equal(second.newPassword, undefined, 'the password is only returned when created');
  t.equal(await readFile(join(dir, PASSWORD_FILE), 'utf8'), first.newPassword, 'and never replaced');
});

t.test('existing credentials are kept; loose permissions are tightened', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, USER_FILE), 'root\n', { mode: 0o644 });
  await writeFile(join(dir, PASSWORD_FILE), 'secret\n', { mode: 0o644 });
  const c = await ensureAdminCredentials(dir);
  t.equal(c.user, 'root');
  t.equal(c.newPassword, undefined);
  t.equal((await stat(join(dir, PASSWORD_FILE))).mode & 0o777, 0o600);
});

t.test('an empty password file is an error, not silently replaced', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, PASSWORD_FILE), '\n');
  await t.rejects(ensureAdminCredentials(dir), { code: 'CLI_ERR_CREDENTIALS', message: /is empty/ });
});

t.test('a missing user file is recreated next to an existing password', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, PASSWORD_FILE), 'pw');
  const c = await ensureAdminCredentials(dir);
  t.equal(c.user, 'admin');
  t.equal(await readFile(join(dir, USER_FILE), 'utf8'), 'admin');
});

t.test('an unusable folder is a credentials error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file'), '');
  await t.rejects(ensureAdminCredentials(join(dir, 'file', 'sub')), { code: 'CLI_ERR_CREDENTIALS' });
  await mkdir(join(dir, 'ok'));
  t.ok(await ensureAdminCredentials(join(dir, 'ok')));
});

t.test('passwords differ between calls', async (t) => {
  t.not(generatePassword(), generatePassword());
});
