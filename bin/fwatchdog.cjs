#!/usr/bin/env node
// The watchdog ships as one bundled file (npm run build → dist/fwatchdog.cjs).
require('../dist/fwatchdog.cjs');
