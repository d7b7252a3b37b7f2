import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
import { Output } from './output.js';
import { buildProgram } from './program.js';

/**
 * The `odoo-backup` executable: parses the command line, runs the command, exits with its status
 * (docs/cli.md#exit-codes). The first Ctrl-C (or SIGTERM) asks the running command to cancel what
 * it started (the SDK removes partial uploads) and the exit status is 130; a second one exits at once.
 */
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const library = JSON.parse(readFileSync(new URL(import.meta.resolve('odoo-backup-sdk/package.json')), 'utf8')) as { version: string };

const interrupt = new AbortController();
let interrupted = false;
const onSignal = () => {
  if (interrupted) process.exit(EXIT.INTERRUPTED);
  interrupted = true;
  process.stderr.write('\ninterrupted: cancelling (Ctrl-C again to quit at once)\n');
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function exit(status: number): void {
  const code = interrupted ? EXIT.INTERRUPTED : status;
  // Let stdout drain (a pipe to a slow reader) before leaving: the JSON document must be whole.
  process.stdout.write('', () => process.exit(code));
}

let finished = false;
const program = buildProgram(
  `${pkg.version} (odoo-backup-sdk ${library.version})`,
  { signal: interrupt.signal, env: process.env },
  (status) => {
    finished = true;
    exit(status);
  },
);

try {
  await program.parseAsync(process.argv);
  if (!finished) exit(EXIT.OK);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here with status 0; anything else is a usage error.
    if (error.exitCode === 0) exit(EXIT.OK);
    else {
      const json = process.argv.includes('--json') || Boolean(process.env.ODOO_BACKUP_JSON);
      if (json) {
        const out = new Output(true, {
          stdout: process.stdout,
          stderr: { write: () => true } as unknown as NodeJS.WritableStream,
          env: process.env,
        });
        out.fail({ code: 'E_VALIDATION', message: error.message.replace(/^error: /, ''), details: { commander_code: error.code } });
      }
      exit(EXIT.USAGE);
    }
  } else {
    exit(new Output(false, { stdout: process.stdout, stderr: process.stderr, env: process.env }).fail(error));
  }
}
