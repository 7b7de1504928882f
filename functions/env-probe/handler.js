'use strict';
// For testing the platform: sleeps, reads env vars and secrets on request.
//   ?sleep=250        wait 250 ms before answering (max 60000)
//   ?env=NAME         include process.env.NAME
//   ?secret=NAME      include the secret NAME from the secrets folder
//                     (secret_mount_path, else /var/openfaas/secrets)
//   ?fail=503         answer with that status
const { readFile } = require('node:fs/promises');
const { join } = require('node:path');

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

module.exports = async (event, context) => {
  const q = event.query || {};
  const out = { pid: process.pid };
  if (q.sleep !== undefined) {
    const ms = Math.min(Math.max(Number(q.sleep) || 0, 0), 60_000);
    await new Promise((r) => setTimeout(r, ms));
    out.slept = ms;
  }
  if (q.env) out.env = { [q.env]: process.env[q.env] ?? null };
  if (q.secret) {
    if (!NAME.test(q.secret)) return context.status(400).succeed({ error: 'invalid secret name' });
    const dir = process.env.secret_mount_path || '/var/openfaas/secrets';
    try {
      out.secret = { [q.secret]: await readFile(join(dir, q.secret), 'utf8') };
    } catch {
      return context.status(404).succeed({ error: `secret ${q.secret} is not mounted` });
    }
  }
  const status = Number(q.fail) >= 400 && Number(q.fail) < 600 ? Number(q.fail) : 200;
  return context.status(status).succeed(out);
};
