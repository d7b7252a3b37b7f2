// One implementation, shared with the examples (npm run demo starts its PostgreSQL the same way).
export { freePort } from '../../examples/support/free-port.js';
