/** The one switch from mode to executor. */
import type { Executor, ExecutorContext } from './types.js';
import { createClassicExecutor } from './classic.js';
import { createHttpExecutor } from './http.js';
import { createInprocExecutor } from './inproc.js';
import { createSerializingExecutor } from './serializing.js';
import { createStaticExecutor } from './static.js';
import { createStreamingExecutor } from './streaming.js';

export type { Executor, ExecutorContext } from './types.js';

export function createExecutor(ctx: ExecutorContext): Executor {
  switch (ctx.config.mode) {
    case 'http':
      return createHttpExecutor(ctx);
    case 'streaming':
      return createStreamingExecutor(ctx);
    case 'serializing':
      return createSerializingExecutor(ctx);
    case 'static':
      return createStaticExecutor(ctx);
    case 'inproc':
      return createInprocExecutor(ctx);
    case 'classic':
      return createClassicExecutor(ctx);
  }
}
