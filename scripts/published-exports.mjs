// What a published package's manifest leaves out: the `source` condition of its `exports`, by
// which the workspace's tests and typecheck read the TypeScript sources of the other packages.
// A package runs this as `prepack` (`strip`: the manifest as published, the workspace's kept
// beside it) and `postpack` (`restore`), so `npm pack` and `npm publish` ship no `source`.
//   node ../../scripts/published-exports.mjs strip|restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const KEPT = 'package.workspace.json'
const step = process.argv[2]
if (step === 'strip') {
  const text = readFileSync('package.json', 'utf8')
  const pkg = JSON.parse(text)
  writeFileSync(KEPT, text)
  for (const entry of Object.values(pkg.exports ?? {})) {
    if (typeof entry === 'object' && entry !== null) delete entry.source
  }
  writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n')
} else if (step === 'restore') {
  if (existsSync(KEPT)) renameSync(KEPT, 'package.json')
} else {
  console.error('usage: published-exports.mjs strip|restore')
  process.exit(2)
}
