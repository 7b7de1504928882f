/**
 * Test fixture: open the file queue in QUEUE_DIR and enqueue COUNT messages,
 * printing "ok <n>" on stdout as each enqueue() resolves (i.e. is durable).
 * The test kills this process with SIGKILL part-way through.
 */
import { createFileQueue } from '../index.js';

const dir = process.env.QUEUE_DIR!;
const count = Number(process.env.COUNT ?? '1000');
const q = await createFileQueue({ dir });
let n = 0;
const inFlight = new Set<Promise<void>>();
while (n < count) {
  const i = n++;
  const p = q.enqueueRaw(Buffer.from(JSON.stringify({ Function: 'f', Method: 'POST', Body: Buffer.from(`m${i}`).toString('base64') }))).then(() => {
    process.stdout.write(`ok ${i}\n`);
  });
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
  if (inFlight.size >= 64) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await q.close();
