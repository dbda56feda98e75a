// @swormjs/registry: a cluster-wide name registry and process groups on replicated Yjs docs.
export { Registry } from './Registry.js'
export type {
  RegistryOptions,
  RegisterOptions,
  RegistryEvents,
  UnregisterReason,
  Entry,
  MultiCallOptions,
  MultiCallResult,
} from './types.js'
export { registryDefaults } from './defaults.js'
export { encodeName, decodeName, describeName } from './names.js'
export type { Name } from './names.js'
export { RegistryErrorCode, NotOwner, RegistryStopped } from './errors.js'
