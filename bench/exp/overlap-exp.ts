// Experiment (not committed): does running one part ahead into a bounded buffer pay?
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startPostgres } from '../../test/servers/postgres.js';
import { buildDatabase, buildFilestore } from '../bench-data.js';
import { settle } from '../settle.js';

const MB = 1024 * 1024;
const scale = Number(process.env.BENCH_SCALE ?? 1);
const pg = await startPostgres();
const work = mkdtempSync(join(tmpdir(), 'obsdk-exp-'));
await buildDatabase(pg, 'exp', 2 * 1024 * MB * scale);
const fs = await buildFilestore(pg, 'exp', join(work, 'fs'), 1024 * MB * scale, Math.round(20000 * scale));
mkdirSync(join(work, 'out'));
let n = 0;
const dumpCmd = () => spawn(join(pg.binDir, 'pg_dump'), ['-Fc', '-Z1', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, 'exp'], { env: { ...process.env, PGPASSWORD: pg.password }, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
const fsCmd = () => spawn('sh', ['-c', `tar -cf - -C '${fs.folder}' . | pigz -1`], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });

/** Collects a child's stdout into memory up to `limit` bytes, then pauses. */
function ahead(child: ReturnType<typeof spawn>, limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  const out = child.stdout!;
  const onData = (c: Buffer) => {
    chunks.push(c);
    size += c.length;
    if (size >= limit) out.pause();
  };
  out.on('data', onData);
  const end = new Promise<void>((r) => out.once('end', () => { ended = true; r(); }));
  return {
    async drainInto(sink: { write(b: Buffer): Promise<void> }) {
      out.off('data', onData);
      out.pause();
      for (const c of chunks) await sink.write(c);
      chunks.length = 0;
      if (!ended) {
        for await (const c of out) await sink.write(c as Buffer);
      }
      await end;
    },
  };
}

function fileSink() {
  const ws = createWriteStream(join(work, 'out', `o${n++}`));
  const h = createHash('sha256');
  return {
    write(b: Buffer) {
      h.update(b);
      return ws.write(b) ? Promise.resolve() : new Promise<void>((r) => ws.once('drain', () => r()));
    },
    close() { return new Promise<void>((r) => ws.end(() => r())); },
  };
}

async function run(mode: 'seq' | 'dumpAhead' | 'fsAhead', limit: number) {
  await settle();
  const t = performance.now();
  const sink = fileSink();
  if (mode === 'seq') {
    await ahead(dumpCmd(), 0).drainInto(sink);
    await ahead(fsCmd(), 0).drainInto(sink);
  } else if (mode === 'dumpAhead') {
    const d = ahead(dumpCmd(), limit);
    await ahead(fsCmd(), 0).drainInto(sink);
    await d.drainInto(sink);
  } else {
    const f = ahead(fsCmd(), limit);
    await ahead(dumpCmd(), 0).drainInto(sink);
    await f.drainInto(sink);
  }
  await sink.close();
  return (performance.now() - t) / 1000;
}
const modes: [string, 'seq' | 'dumpAhead' | 'fsAhead', number][] = [
  ['seq', 'seq', 0],
  ['dumpAhead 32', 'dumpAhead', 32 * MB * scale],
  ['dumpAhead 64', 'dumpAhead', 64 * MB * scale],
  ['fsAhead 64', 'fsAhead', 64 * MB * scale],
];
for (let round = 0; round < 3; round++) {
  for (const [name, mode, limit] of modes) {
    console.log(round, name, (await run(mode, limit)).toFixed(2));
  }
}
await pg.stop();
