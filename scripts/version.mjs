// The packages are released together at one version, and each pins the others to exactly it, so
// that none ever resolves another's newer release by accident.
//   node scripts/version.mjs 0.2.0   sets every published package (not `private`) to 0.2.0 and
//                                    pins every internal dependency, in every workspace, to it
//                                    (CHANGELOG.md needs its "## 0.2.0" entry first)
//   node scripts/version.mjs --check fails if the published packages differ in version or an
//                                    internal dependency is not pinned to it (run by .ci/run)
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

const arg = process.argv[2]
const root = JSON.parse(readFileSync('package.json', 'utf8'))
const dirs = root.workspaces.flatMap((pattern) =>
  execFileSync('sh', ['-c', `ls -d ${pattern}`], { encoding: 'utf8' })
    .trim()
    .split('\n'),
)
const manifests = dirs.map((dir) => {
  const path = `${dir}/package.json`
  return { path, pkg: JSON.parse(readFileSync(path, 'utf8')) }
})
const published = manifests.filter((m) => m.pkg.private !== true)
const names = new Set(published.map((m) => m.pkg.name))
const fields = ['dependencies', 'devDependencies', 'peerDependencies']

if (arg === '--check') {
  const versions = new Set(published.map((m) => m.pkg.version))
  const problems = []
  if (versions.size !== 1) problems.push(`published packages at several versions: ${[...versions]}`)
  const [version] = versions
  for (const { path, pkg } of manifests) {
    for (const field of fields) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        if (names.has(dep) && range !== version)
          problems.push(`${path}: ${dep} is "${range}", not "${version}"`)
      }
    }
  }
  if (!readFileSync('CHANGELOG.md', 'utf8').includes(`## ${version}`)) {
    problems.push(`CHANGELOG.md has no "## ${version}" entry`)
  }
  for (const p of problems) console.error(p)
  if (problems.length > 0) process.exit(1)
  console.log(`${names.size} published packages at ${version}, internal dependencies pinned`)
} else {
  if (arg === undefined || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(arg)) {
    console.error('usage: node scripts/version.mjs <major.minor.patch[-pre]> | --check')
    process.exit(2)
  }
  if (!readFileSync('CHANGELOG.md', 'utf8').includes(`## ${arg}`)) {
    console.error(`CHANGELOG.md has no "## ${arg}" entry: write it first`)
    process.exit(1)
  }
  for (const { path, pkg } of manifests) {
    if (names.has(pkg.name)) pkg.version = arg
    for (const field of fields) {
      for (const dep of Object.keys(pkg[field] ?? {})) if (names.has(dep)) pkg[field][dep] = arg
    }
    writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n')
  }
  console.log(`${[...names].join(', ')} at ${arg}: now run npm install to update the lock`)
}
