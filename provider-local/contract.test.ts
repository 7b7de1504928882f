import t from 'tap';
import { runProviderContract } from '../provider/contract.js';
import { makeTestProvider } from './test-fixtures.js';

runProviderContract(t, async () => {
  const env = await makeTestProvider();
  return { provider: env.provider, deployableImage: 'hello-http:latest', cleanup: env.cleanup };
}, { readyTimeoutMs: 20_000 });
