// One implementation, shared with the examples: `npm run demo` starts its PostgreSQL the same way.
export { quoteIdent, startPostgres, type PgServer } from '../../examples/support/postgres.js';
