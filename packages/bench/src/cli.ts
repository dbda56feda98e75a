// Entry point of the benchmarks: `node dist/cli.js [<suite> | <suite>.<figure>]`. Bench lines go
// to stdout, progress to stderr; see runner.ts.
import { runCli } from './runner.js'

process.exitCode = await runCli(process.argv.slice(2))
