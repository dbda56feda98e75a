// The registry of suites: `cli.js <suite>` looks its figures up here. A new suite is one file in
// this folder and one entry below.
import type { Suite } from '../figure.js'
import { actorSuite } from './actor.js'
import { chaosSuite } from './chaos.js'
import { clusterSuite } from './cluster.js'
import { durableSuite } from './durable.js'
import { lifecycleSuite } from './lifecycle.js'
import { registrySuite } from './registry.js'
import { scaleSuite } from './scale.js'
import { supervisorSuite } from './supervisor.js'
import { swormSuite } from './sworm.js'

/** Every suite by name, in listing order. */
export const suites: ReadonlyMap<string, Suite> = new Map<string, Suite>([
  ['actor', actorSuite],
  ['cluster', clusterSuite],
  ['registry', registrySuite],
  ['supervisor', supervisorSuite],
  ['sworm', swormSuite],
  ['durable', durableSuite],
  ['lifecycle', lifecycleSuite],
  ['scale', scaleSuite],
  ['chaos', chaosSuite],
])
