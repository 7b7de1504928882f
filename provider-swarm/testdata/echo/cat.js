'use strict';
// Classic-watchdog fprocess: prints the file named by argv[2] (there is no `cat` in the base image).
process.stdout.write(require('node:fs').readFileSync(process.argv[2]));
