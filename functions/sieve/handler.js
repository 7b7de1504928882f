'use strict';

// CPU-bound workload from the research the project builds on (tinyFaaS
// evaluation): all primes up to n with the Sieve of Eratosthenes. n comes from
// the query (?n=1000), a JSON body {"n": 1000} or a plain-text body "1000";
// default 1000, at most 10,000,000.
const DEFAULT_N = 1000;
const MAX_N = 10_000_000;

function sieve(n) {
  const composite = new Uint8Array(n + 1);
  const primes = [];
  for (let i = 2; i <= n; i++) {
    if (composite[i]) continue;
    primes.push(i);
    for (let j = i * i; j <= n; j += i) composite[j] = 1;
  }
  return primes;
}

function readN(event) {
  if (event.query && event.query.n !== undefined) return event.query.n;
  const body = event.body;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body) && body.n !== undefined) return body.n;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
  return text.trim() === '' ? DEFAULT_N : text.trim();
}

module.exports = async (event, context) => {
  const raw = readN(event);
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isInteger(n) || n < 2 || n > MAX_N) {
    return context
      .status(400)
      .headers({ 'Content-Type': 'text/plain; charset=utf-8' })
      .succeed(`n must be an integer between 2 and ${MAX_N}\n`);
  }
  const primes = sieve(n);
  const verbose = event.query && event.query.list === 'true';
  const result = { n, count: primes.length, largest: primes[primes.length - 1] };
  if (verbose) result.primes = primes;
  return context.status(200).headers({ 'Content-Type': 'application/json' }).succeed(result);
};
