/**
 * `npm run bench`: run the benchmark suites one after another and write their
 * tables to bench/results/<date>.md (stdout too). Not part of `npm test`.
 *
 *   npm run bench [-- suite ...]     suites: watchdog gateway async autoscale connectors swarm
 *                                    (default: all; autoscale needs prometheus,
 *                                    connectors needs mosquitto, async needs nats-server,
 *                                    swarm needs dockerd (test/docker.ts starts it))
 */
import { spawn } from 'node:child_process';
import { mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUITES = ['watchdog', 'gateway', 'async', 'autoscale', 'connectors', 'swarm'] as const;
type Suite = (typeof SUITES)[number];

function chosenSuites(argv: string[]): Suite[] {
  if (argv.length === 0) return [...SUITES];
  const unknown = argv.filter((a) => !(SUITES as readonly string[]).includes(a));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; choose from ${SUITES.join(', ')}`);
    process.exit(2);
  }
  return argv as Suite[];
}

function runSuite(root: string, suite: Suite, out: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `bench/${suite}.ts`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      appendFileSync(out, chunk);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const root = fileURLToPath(new URL('..', import.meta.url));
const suites = chosenSuites(process.argv.slice(2));
const resultsDir = `${root}/bench/results`;
mkdirSync(resultsDir, { recursive: true });
const out = `${resultsDir}/${new Date().toISOString().replace(/[:]/g, '-').slice(0, 19)}-local.md`;
writeFileSync(out, `# faas-ts benchmarks, ${new Date().toISOString()}, Node ${process.version}\n\n`);
let failed = 0;
for (const suite of suites) {
  appendFileSync(out, `\n## ${suite}\n\n`);
  const code = await runSuite(root, suite, out);
  if (code !== 0) {
    failed++;
    appendFileSync(out, `\n(suite ${suite} exited with ${code})\n`);
  }
}
console.log(`\nresults written to ${out}`);
process.exit(failed > 0 ? 1 : 0);
