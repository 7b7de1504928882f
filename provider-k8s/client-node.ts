/**
 * Loads @kubernetes/client-node. Pinned to 1.x: 2.x depends on undici 8, which
 * needs Node >= 22.19 and throws on import under Node 20. Kept as the one way
 * in so the (large) module loads only when a Kubernetes provider is created.
 */
export type ClientNode = typeof import('@kubernetes/client-node');

/** The client-node module (cached by the module system after the first call). */
export function loadClientNode(): Promise<ClientNode> {
  return import('@kubernetes/client-node');
}
