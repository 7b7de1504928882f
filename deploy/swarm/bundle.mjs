// Bundle one component's composition root into a single ESM file for its image.
// usage: node deploy/swarm/bundle.mjs ENTRY.ts OUT.mjs
// `require` is provided for the CommonJS dependencies esbuild inlines; the SSH
// transport of docker-modem (ssh2, cpu-features, a native addon) is replaced by an
// empty module: the provider talks to the Engine over its unix socket.
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: node deploy/swarm/bundle.mjs ENTRY.ts OUT.mjs');
  process.exit(2);
}
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "import { createRequire as __faasTsCreateRequire } from 'node:module'; const require = __faasTsCreateRequire(import.meta.url);" },
  plugins: [
    {
      name: 'no-ssh-transport',
      setup(b) {
        b.onResolve({ filter: /^(ssh2|cpu-features)$/ }, (args) => ({ path: args.path, namespace: 'no-ssh' }));
        b.onLoad({ filter: /.*/, namespace: 'no-ssh' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      },
    },
  ],
  legalComments: 'none',
  logLevel: 'warning',
});
