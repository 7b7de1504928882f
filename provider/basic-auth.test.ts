/**
 * provider/basic-auth.ts: the right answer for every input shape, and the
 * constant-time property checked structurally: each check with a well-formed
 * header runs exactly two timingSafeEqual calls over 32-byte digests, whatever
 * the lengths of the sent user and password and whether the user matched
 * (no early return on length or on the first mismatch).
 */
import t from 'tap';
import fc from 'fast-check';
import * as crypto from 'node:crypto';
import { createBasicAuthCheck } from './basic-auth.js';

const creds = { user: 'admin', password: 'Zq3-long-enough-password-for-tests' };
const header = (user: string, password: string, scheme = 'Basic') =>
  `${scheme} ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

t.test('accepts exactly the configured pair', async (t) => {
  const check = createBasicAuthCheck(creds);
  t.equal(check(header(creds.user, creds.password)), true);
  t.equal(check(header(creds.user, creds.password, 'basic')), true, 'scheme is case-insensitive');
  t.equal(check(header(creds.user, creds.password, 'BASIC')), true);
  const cases: Array<[string, string | undefined]> = [
    ['missing', undefined],
    ['empty', ''],
    ['scheme only', 'Basic'],
    ['scheme and space', 'Basic '],
    ['bearer', `Bearer ${creds.password}`],
    ['no colon', `Basic ${Buffer.from(creds.user + creds.password).toString('base64')}`],
    ['empty pair', header('', '')],
    ['shorter password', header(creds.user, creds.password.slice(0, -1))],
    ['one char password', header(creds.user, 'Z')],
    ['empty password', header(creds.user, '')],
    ['longer password', header(creds.user, `${creds.password}!`)],
    ['much longer password', header(creds.user, creds.password.repeat(100))],
    ['same length, last char differs', header(creds.user, `${creds.password.slice(0, -1)}X`)],
    ['same length, first char differs', header(creds.user, `X${creds.password.slice(1)}`)],
    ['wrong user, right password', header('root', creds.password)],
    ['user prefix', header('adm', creds.password)],
    ['user longer', header('admin1', creds.password)],
    ['user case', header('Admin', creds.password)],
    ['swapped', header(creds.password, creds.user)],
    ['trailing whitespace in password', header(creds.user, `${creds.password} `)],
    ['password with NUL', header(creds.user, `${creds.password}\0`)],
    ['junk base64', 'Basic !!!!'],
  ];
  for (const [what, value] of cases) t.equal(check(value), false, what);
});

t.test('passwords may contain colons and any unicode (split at the first colon)', async (t) => {
  const odd = { user: 'üser', password: 'a:b:c—密码 🙂' };
  const check = createBasicAuthCheck(odd);
  t.equal(check(header(odd.user, odd.password)), true);
  t.equal(check(header(odd.user, 'a:b:c')), false);
  t.equal(check(header('üser:a', 'b')), false);
});

t.test('property: any other pair is refused, the right one accepted', async (t) => {
  let tried = 0;
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }).filter((u) => !u.includes(':')), fc.string({ maxLength: 200 }), (user, password) => {
      tried++;
      const check = createBasicAuthCheck({ user: creds.user, password: creds.password });
      const expected = user === creds.user && password === creds.password;
      return check(header(user, password)) === expected && createBasicAuthCheck({ user: user || 'u', password: password || 'p' })(header(user || 'u', password || 'p'));
    }),
    { numRuns: 2000 },
  );
  t.equal(tried, 2000);
});

t.test('constant-time structure: two equal-length comparisons for every well-formed header', async (t) => {
  const calls: Array<[number, number]> = [];
  const { createBasicAuthCheck: check } = await t.mockImport<typeof import('./basic-auth.js')>('./basic-auth.js', {
    'node:crypto': {
      ...crypto,
      timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push([a.byteLength, b.byteLength]);
        return crypto.timingSafeEqual(a, b);
      },
    },
  });
  const verify = check(creds);
  for (let len = 0; len <= 300; len += 7) {
    for (const user of ['', 'a', 'admin', 'x'.repeat(len), creds.user]) {
      calls.length = 0;
      const ok = verify(header(user, 'p'.repeat(len)));
      t.equal(ok, false);
      if (calls.length !== 2 || calls.some(([a, b]) => a !== 32 || b !== 32)) {
        t.fail(`user length ${user.length}, password length ${len}: comparisons ${JSON.stringify(calls)}`);
      }
    }
  }
  calls.length = 0;
  t.equal(verify(header(creds.user, creds.password)), true);
  t.same(calls, [[32, 32], [32, 32]], 'the accepted pair takes the same two comparisons');
});
