// Runs after `vitest run` in `npm test`: fails when any test or suite was skipped or left as
// todo (a skipped suite must never count as a pass), and prints the plain closing line
// "N passed, N failed, N skipped" that CI reads.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.tmp/vitest-report.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.error(`check-test-report: cannot read ${path}: ${error.message}`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const skippedNames = [];
for (const file of report.testResults ?? []) {
  for (const t of file.assertionResults ?? []) {
    if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') skippedNames.push(`${file.name}: ${t.fullName}`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed === 0) {
  console.error('check-test-report: no test ran');
  process.exit(1);
}
if (skipped > 0) {
  console.error(`check-test-report: skipped tests count as failures:\n  ${skippedNames.join('\n  ')}`);
  process.exit(1);
}
process.exit(failed > 0 || report.success === false ? 1 : 0);
