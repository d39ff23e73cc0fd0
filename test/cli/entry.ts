// Child-process entry for CLI tests: runs the CLI from source (no build step) with the given arguments.
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
