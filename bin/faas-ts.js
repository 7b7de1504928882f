#!/usr/bin/env node
// The CLI (npm run build → dist/cli/main.js).
import '../dist/cli/main.js';
