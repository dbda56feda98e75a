// Typed errors of @swormjs/registry (conventions of @swormjs/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@swormjs/actor'

/** Every error code this package raises. */
export const RegistryErrorCode = {
  /** `updateMeta` on a name held by a process of another node. */
  NotOwner: 'NOT_OWNER',
  /** A write to a registry that was stopped on this node. */
  RegistryStopped: 'REGISTRY_STOPPED',
} as const

/** Only the node of the process holding a name may change its entry (one writer per doc). */
export class NotOwner extends SwormError {
  override name = 'NotOwner'
  /** The name, as people read it. */
  readonly registeredName: string
  constructor(registeredName: string) {
    super(RegistryErrorCode.NotOwner, `${registeredName} is held by a process of another node`)
    this.registeredName = registeredName
  }
  static override is(u: unknown): u is NotOwner {
    return hasErrorCode(u, RegistryErrorCode.NotOwner)
  }
}

/** The registry was stopped on this node. */
export class RegistryStopped extends SwormError {
  override name = 'RegistryStopped'
  constructor(registry: string) {
    super(RegistryErrorCode.RegistryStopped, `registry ${registry} is stopped`)
  }
  static override is(u: unknown): u is RegistryStopped {
    return hasErrorCode(u, RegistryErrorCode.RegistryStopped)
  }
}
