export { createLocalProvider, GENERIC_WATCHDOG_MODE, type LocalProvider, type ReplicaInfo } from './provider.js';
export type { LocalProviderConfig } from './config.js';
export { BundleStore, bundleKey, GENERIC_IMAGES, isGenericImage, imageRepository, type Bundle } from './bundles.js';
export { UPSTREAM_SECRETS_PATH, type SecretMountMode } from './secret-mount.js';
