/**
 * Regression check found by the workloads benchmark (issue #11): the
 * python3-http template's server wrote the header block and the body in two
 * send()s with Nagle's algorithm on, so the body waited for the watchdog's
 * delayed ACK and every Python call took 40+ ms. Its connections must have
 * TCP_NODELAY set. Checked on the server side of a real connection: a probe
 * subclass of the template's Handler reads the option after setup().
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const template = fileURLToPath(new URL('../templates/python3-http', import.meta.url));

const PROBE = `
import socket, sys, threading, http.client
sys.argv = ["index.py"]
sys.path.insert(0, ${JSON.stringify(template)})
import index
seen = []
class Probe(index.Handler):
    def setup(self):
        super().setup()
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
srv = index.ThreadingHTTPServer(("127.0.0.1", 0), Probe)
threading.Thread(target=srv.serve_forever, daemon=True).start()
c = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
c.request("POST", "/", body=b"ping")
r = c.getresponse()
r.read()
print(r.status, seen[0] != 0)
srv.shutdown()
`;

t.test('python3-http connections have TCP_NODELAY on', async (t) => {
  const { stdout } = await run('python3', ['-c', PROBE], { cwd: template, timeout: 30_000 });
  const [status, nodelay] = stdout.trim().split(' ');
  t.equal(status, '200', 'the template answered');
  t.equal(nodelay, 'True', 'TCP_NODELAY is set on the accepted socket');
});
