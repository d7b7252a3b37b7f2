// Runs examples/testing-your-code.test.ts (the code of docs/testing.md) in the unit project:
// importing it registers its tests here.
import '../../../examples/testing-your-code.test.js';
