// Child-process entry for benchmarks that drive the CLI from source: runs `shitate` with the given arguments.
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
