import t from 'tap';
import { decodeQueueRequest, goUrlToString, invocationPath } from './index.js';

const enc = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

t.test('reads the omit-empty (CE-HEAD) form with a Go struct callback', async (t) => {
  const d = decodeQueueRequest(
    enc({
      Header: { 'X-Call-Id': ['9f'], 'Content-Type': ['text/plain'] },
      Host: 'gw:8080',
      Body: 'aGk=',
      Method: 'POST',
      Path: '/x',
      QueryString: 'a=1',
      Function: 'echo',
      CallbackUrl: { Scheme: 'http', Opaque: '', User: null, Host: 'cb:8888', Path: '/', RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: 'k=v', Fragment: '', RawFragment: '' },
    }),
  );
  t.equal(d.body.toString(), 'hi');
  t.equal(d.callbackUrl, 'http://cb:8888/?k=v');
  t.equal(d.callId, '9f');
  t.equal(invocationPath(d.request), '/function/echo/x?a=1');
});

t.test('reads the classic form (every key, nulls) and a string callback', async (t) => {
  const d = decodeQueueRequest(
    enc({ Header: null, Host: '', Body: null, Method: 'POST', Path: '', QueryString: '', Function: '/fn.ns/', QueueName: '', CallbackUrl: 'http://127.0.0.1:1/cb' }),
  );
  t.equal(d.body.length, 0);
  t.same(d.headers, {});
  t.equal(d.callbackUrl, 'http://127.0.0.1:1/cb');
  t.equal(invocationPath(d.request), '/function/fn.ns');
  t.equal(decodeQueueRequest(enc({ Function: 'f', CallbackUrl: null })).callbackUrl, undefined);
});

t.test('malformed messages are rejected with QW_ERR_MALFORMED and a reason', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    ['not json', /JSON/],
    ['[1,2]', /object/],
    [{ Method: 'POST' }, /Function/],
    [{ Function: 7 }, /Function must be a string/],
    [{ Function: 'f', Body: '%%%' }, /base64/],
    [{ Function: 'f', Header: { A: 'not-an-array' } }, /Header A/],
    [{ Function: 'f', Path: 'no-slash' }, /Path/],
    [{ Function: 'f', CallbackUrl: 3 }, /CallbackUrl/],
  ];
  for (const [input, why] of bad) {
    t.throws(() => decodeQueueRequest(enc(input)), { code: 'QW_ERR_MALFORMED', message: why }, JSON.stringify(input));
  }
  t.throws(() => decodeQueueRequest(Buffer.from([0xff, 0xfe])), { code: 'QW_ERR_MALFORMED' });
});

t.test('an unusable callback URL does not stop the work: no callback, a reason', async (t) => {
  for (const cb of ['not a url', 'ftp://x/y', { Scheme: '', Host: '', Path: 'relative/path' }]) {
    const d = decodeQueueRequest(enc({ Function: 'f', CallbackUrl: cb }));
    t.equal(d.callbackUrl, undefined);
    t.match(d.callbackProblem, /not an absolute http\(s\) URL/);
  }
});

t.test('Go url.URL struct → string', async (t) => {
  const base = { Scheme: 'https', Opaque: '', User: null, Host: 'h:1', Path: '/a b', RawPath: '/a%20b', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' };
  t.equal(goUrlToString(base), 'https://h:1/a%20b');
  t.equal(goUrlToString({ ...base, RawPath: '', Path: '/p', RawQuery: 'x=1', Fragment: 'f' }), 'https://h:1/p?x=1#f');
  t.equal(goUrlToString({ Scheme: 'http', Host: 'cb' }), 'http://cb');
});
