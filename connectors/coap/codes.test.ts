import t from 'tap';
import { coapCodeFor } from './codes.js';
import { parseTarget } from './endpoint.js';

t.test('HTTP status → CoAP code', async (t) => {
  const table: Array<[number, string, boolean, string]> = [
    [200, 'GET', true, '2.05'],
    [200, 'POST', true, '2.05'],
    [200, 'POST', false, '2.04'],
    [200, 'GET', false, '2.05'],
    [201, 'POST', true, '2.01'],
    [202, 'POST', false, '2.04'],
    [204, 'PUT', false, '2.04'],
    [204, 'DELETE', false, '2.02'],
    [204, 'GET', false, '2.05'],
    [400, 'POST', true, '4.00'],
    [404, 'GET', true, '4.04'],
    [410, 'GET', true, '4.00'],
    [413, 'POST', true, '4.13'],
    [429, 'GET', true, '4.29'],
    [500, 'GET', true, '5.00'],
    [502, 'GET', true, '5.02'],
    [503, 'GET', true, '5.03'],
    [504, 'GET', true, '5.04'],
    [507, 'GET', true, '5.00'],
    [302, 'GET', true, '5.02'],
  ];
  for (const [status, method, body, code] of table) t.equal(coapCodeFor(status, method, body), code, `${method} ${status}`);
});

t.test('request path → function, sub-path and query', async (t) => {
  t.same(parseTarget('/echo'), { fn: 'echo', path: '', query: '' });
  t.same(parseTarget('/echo.dev/a/b c?x=1&y=a b&flag'), { fn: 'echo.dev', path: '/a/b%20c', query: 'x=1&y=a%20b&flag' });
  t.equal(parseTarget('/'), undefined);
  t.equal(parseTarget('/Bad_Name'), undefined);
  t.equal(parseTarget('/a.b.c'), undefined);
});
