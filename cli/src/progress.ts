import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { Output } from './output.js';

/** Progress of one long step (backup, verify, restore), drawn on stderr. */
export interface Progress {
  /** The step is in `phase`; `figures` are its numbers (bytes, rate). */
  update(phase: string, figures: string): void;
  /** Stops drawing; `ok` false marks the step failed. */
  end(ok: boolean): Promise<void>;
}

/** At most one plain line per this long within a phase. */
export const PLAIN_LINE_INTERVAL_MS = 10_000;

/**
 * Plain lines for logs and pipes: one when a phase begins, then at most one per
 * {@link PLAIN_LINE_INTERVAL_MS}; never an escape code.
 */
class PlainProgress implements Progress {
  private phase: string | null = null;
  private lastAt = 0;
  constructor(
    private readonly out: Output,
    private readonly title: string,
    private readonly now: () => number,
  ) {}
  update(phase: string, figures: string): void {
    const at = this.now();
    if (phase === this.phase && at - this.lastAt < PLAIN_LINE_INTERVAL_MS) return;
    this.phase = phase;
    this.lastAt = at;
    this.out.info(`${this.title}: ${phase}${figures ? ` ${figures}` : ''}`);
  }
  async end(): Promise<void> {}
}

/** On a terminal: a listr2 task whose line is redrawn with the phase and its figures. */
class TerminalProgress implements Progress {
  /** The running listr2 task: its `output` is the line drawn under the title. */
  private task: { output: string } | null = null;
  private pending: { phase: string; figures: string } | null = null;
  private finish!: (ok: boolean) => void;
  private readonly running: Promise<unknown>;

  constructor(out: Output, title: string) {
    const done = new Promise<boolean>((resolve) => (this.finish = resolve));
    const output = new ProcessOutput(out.streams.stderr as NodeJS.WriteStream, out.streams.stderr as NodeJS.WriteStream);
    const list = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            this.task = task;
            if (this.pending) this.update(this.pending.phase, this.pending.figures);
            // listr2 marks the line failed and shows the error's message: the title, as it was.
            if (!(await done)) throw new Error(title);
          },
        },
      ],
      {
        concurrent: false,
        exitOnError: true,
        registerSignalListeners: false,
        rendererOptions: { logger: new ListrLogger({ processOutput: output }) },
        fallbackRendererOptions: { logger: new ListrLogger({ processOutput: output }) },
      },
    );
    this.running = list.run().catch(() => undefined);
  }
  update(phase: string, figures: string): void {
    if (!this.task) {
      this.pending = { phase, figures };
      return;
    }
    this.task.output = `${phase}${figures ? ` ${figures}` : ''}`;
  }
  async end(ok: boolean): Promise<void> {
    this.finish(ok);
    await this.running;
  }
}

/** Progress for `title`: redrawn on a terminal, plain lines otherwise (piped, `TERM=dumb`). */
export function startProgress(out: Output, title: string, now: () => number = Date.now): Progress {
  return out.interactive ? new TerminalProgress(out, title) : new PlainProgress(out, title, now);
}
