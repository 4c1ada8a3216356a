#!/usr/bin/env node
/**
 * Reads tap's TAP stream (from `npm test -- --reporter=tap`) on stdin, passes it through, and ends
 * with one line CI understands: `N passed, N failed`, counting each test file's top-level tests. A
 * file that fails without a failing test inside (a crash, a timeout) counts as one failure.
 */
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let failedInFile = 0;
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line}\n`);
  if (/^ {4}ok \d+/.test(line)) passed++;
  else if (/^ {4}not ok \d+/.test(line)) {
    failed++;
    failedInFile++;
  } else if (/^(not )?ok \d+/.test(line)) {
    if (line.startsWith('not ok') && failedInFile === 0) failed++;
    failedInFile = 0;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
