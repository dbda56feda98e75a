// Whose a doc is, by its name. The docs of the layers above (`ComponentDocs`: a registry's
// `registry/<sworm>/<owner>/<generation>`, a supervisor's `supervisor/<name>/<owner>/<generation>`)
// name their owner; only that node may publish them. Without this, an authenticated peer could
// publish a doc under another node's name before that node did (first come became its owner
// here), and this node would then resolve names to pids that node never registered, and ignore
// the real owner's doc for good. The prefixes are fixed here rather than registered by each
// `ComponentDocs` as it starts: a doc may arrive before the registry or supervisor that reads
// it has started, and it must be refused then too.

/** The prefixes of the docs whose names say who owns them. */
const OWNED_PREFIXES = ['registry/', 'supervisor/'] as const

/**
 * The owner a doc's name claims: the segment before its generation, for a doc of the layers
 * above; undefined for any other doc (an application's own), which its first publisher owns.
 * A name under those prefixes that does not end in `/<owner>/<generation>` claims the empty
 * owner, which no node is.
 */
export function claimedOwner(name: string): string | undefined {
  if (!OWNED_PREFIXES.some((p) => name.startsWith(p))) return undefined
  const last = name.lastIndexOf('/')
  const before = name.lastIndexOf('/', last - 1)
  if (before < 0 || !/^\d+$/.test(name.slice(last + 1))) return ''
  return name.slice(before + 1, last)
}
