'use strict';
// Test function for the swarm provider tests (node20 template handler contract).
//   GET /            → JSON { host, arch, node, uid, greeting }
//   GET /secret/NAME → the content of /var/openfaas/secrets/NAME (404 when absent)
const fs = require('node:fs');
const os = require('node:os');

module.exports = async (event, context) => {
  const path = event.path || '/';
  if (path.startsWith('/secret/')) {
    try {
      return context.status(200).succeed(fs.readFileSync('/var/openfaas/secrets/' + path.slice(8), 'utf8'));
    } catch (err) {
      return context.status(404).succeed(String(err.code));
    }
  }
  console.log('invoked', path);
  return context.status(200).succeed({
    host: os.hostname(),
    arch: process.arch,
    node: process.version,
    uid: process.getuid(),
    greeting: process.env.greeting || '',
  });
};
