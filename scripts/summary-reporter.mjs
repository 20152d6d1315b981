// A node:test reporter that ends the run with the plain line `N passed, N failed, N skipped`
// so a run that executed nothing is visible at a glance (and to CI).
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // Count leaf tests only: suites report their own pass/fail on top of their children.
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
