import t from 'tap';
import { readFileSync } from 'node:fs';
import { ConnectorError, ConnectorErrorCodes } from './errors.js';

t.test('error codes are unique, prefixed and documented in the README', async (t) => {
  const codes = Object.values(ConnectorErrorCodes);
  t.equal(new Set(codes).size, codes.length);
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const documented = [...readme.matchAll(/`(CONN_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
  t.same([...new Set(documented)].sort(), [...codes].sort());
  const err = new ConnectorError(ConnectorErrorCodes.CONFIG, 'x', { cause: new Error('y') });
  t.match(err, { name: 'ConnectorError', code: 'CONN_ERR_CONFIG', message: 'x' });
  t.ok(err.cause instanceof Error);
});
