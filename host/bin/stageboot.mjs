#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx stageboot` works from a checkout
// with no build step and the published package needs none either.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
