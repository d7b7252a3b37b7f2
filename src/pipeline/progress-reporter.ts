import type { Clock } from '../ports/clock.js';
import type { BackupPhase, EventSink } from '../ports/events.js';

/**
 * Turns byte counts into `backup.progress` events: one on every phase or part change, then at
 * most one per `intervalMs` of the injected clock while bytes flow. The default interval
 * (500 ms) keeps the "at least once a second" promise even when chunks arrive unevenly.
 */
export class ProgressReporter {
  private phase: BackupPhase = 'starting';
  private part: string | undefined;
  private bytes = 0;
  private phaseStartBytes = 0;
  private phaseStartMs: number;
  private lastEmitMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ids: { backup_id: string; environment_id: string },
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly intervalMs = 500,
  ) {
    this.phaseStartMs = clock.now().getTime();
  }

  /** Total archive bytes so far. */
  get total(): number {
    return this.bytes;
  }

  /** Enters a phase (and optionally a part) and emits at once. */
  enter(phase: BackupPhase, part?: string): void {
    if (phase !== this.phase) {
      this.phaseStartMs = this.clock.now().getTime();
      this.phaseStartBytes = this.bytes;
    }
    this.phase = phase;
    this.part = part;
    this.emit();
  }

  /** Adds bytes produced; emits when the interval has passed. */
  add(delta: number): void {
    this.bytes += delta;
    if (this.clock.now().getTime() - this.lastEmitMs >= this.intervalMs) this.emit();
  }

  /** Emits the current state now. */
  emit(): void {
    const now = this.clock.now();
    this.lastEmitMs = now.getTime();
    const seconds = (now.getTime() - this.phaseStartMs) / 1000;
    const phaseBytes = this.bytes - this.phaseStartBytes;
    this.events.emit({
      type: 'backup.progress',
      data: {
        ...this.ids,
        phase: this.phase,
        ...(this.part !== undefined ? { part: this.part } : {}),
        bytes: this.bytes,
        rate_bytes_per_second: seconds > 0 ? Math.round(phaseBytes / seconds) : 0,
        timestamp: now.toISOString(),
      },
    });
  }
}
