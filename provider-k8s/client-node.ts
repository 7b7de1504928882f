/**
 * Loads @kubernetes/client-node.
 *
 * The installed client-node 2.x depends on undici 8, which needs Node >= 22.19
 * (it calls zlib.createZstdDecompress and webidl helpers Node 20 lacks) and
 * throws while being imported on Node 20. On such runtimes we register a
 * resolve hook that makes client-node's `import 'undici'` resolve to the
 * project's own undici 7 (same fetch/Agent/ProxyAgent API), then import
 * client-node dynamically. A static import would be linked before the hook
 * exists, which is why this module is the only way in.
 */
import { register } from 'node:module';
import zlib from 'node:zlib';

export type ClientNode = typeof import('@kubernetes/client-node');

const HOOK = `
let target;
export function initialize(data) { target = data.target; }
export async function resolve(specifier, context, next) {
  if (specifier === 'undici' && context.parentURL && context.parentURL.includes('/@kubernetes/client-node/')) {
    return next(specifier, { ...context, parentURL: target });
  }
  return next(specifier, context);
}`;

function needsUndiciRedirect(): boolean {
  return typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress !== 'function';
}

let loading: Promise<ClientNode> | undefined;

/** The client-node module (cached by the module system after the first call). */
export function loadClientNode(): Promise<ClientNode> {
  if (!loading) {
    if (needsUndiciRedirect()) {
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { target: import.meta.url } });
    }
    loading = import('@kubernetes/client-node');
  }
  return loading;
}
