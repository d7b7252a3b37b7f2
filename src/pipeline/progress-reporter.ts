import type { Clock } from '../ports/clock.js';
import type { BackupPhase, EventSink } from '../ports/events.js';

/**
 * Turns byte counts into `backup.progress` events: on every phase or part change one for the
 * state left (its final counts) and one for the state entered, then at most one per `intervalMs`
 * of the injected clock while bytes flow. The default interval (500 ms) keeps the "at least once
 * a second" promise even when chunks arrive unevenly.
 *
 * `bytes` counts the archive as it leaves the ZIP writer; `part_bytes` counts each part where it
 * is read into the archive. The two are apart on purpose: the archive's bytes lag behind the
 * writer's part changes (buffered), so the archive total at a part change is the previous
 * part's size, not the new part's.
 */
export class ProgressReporter {
  private phase: BackupPhase = 'starting';
  private part: string | undefined;
  private bytes = 0;
  private phaseStartBytes = 0;
  private phaseStartMs: number;
  private lastEmitMs = Number.NEGATIVE_INFINITY;
  private readonly partBytes = new Map<string, number>();

  constructor(
    private readonly ids: { backup_id: string; environment_id: string; organization_id: string; project_id: string },
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

  /** Enters a phase (and optionally a part): emits the state left, then the one entered. */
  enter(phase: BackupPhase, part?: string): void {
    if (phase === this.phase && part === this.part) return;
    if (this.phase !== 'starting') this.emit();
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

  /** Adds bytes of the part `part` read so far (the `part_bytes` of its events); emits nothing by itself. */
  addPart(part: string, delta: number): void {
    this.partBytes.set(part, (this.partBytes.get(part) ?? 0) + delta);
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
        ...(this.part !== undefined ? { part: this.part, part_bytes: this.partBytes.get(this.part) ?? 0 } : {}),
        bytes: this.bytes,
        rate_bytes_per_second: seconds > 0 ? Math.round(phaseBytes / seconds) : 0,
        timestamp: now.toISOString(),
      },
    });
  }
}
