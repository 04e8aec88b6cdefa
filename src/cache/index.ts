export { KeyCache, type KeyLoader } from './keyCache.ts';
export { InProcessCacheBus, type CacheBus, type Invalidation } from './bus.ts';
