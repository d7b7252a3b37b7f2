import { describe, expect, it } from 'vitest';
import { errorDocument, Output } from '../../src/output.js';
import { PLAIN_LINE_INTERVAL_MS, startProgress } from '../../src/progress.js';

function capture(options: { tty?: boolean; env?: Record<string, string> } = {}) {
  const text = { stdout: '', stderr: '' };
  const stream = (name: 'stdout' | 'stderr') => ({
    isTTY: options.tty ?? false,
    write: (chunk: string) => {
      text[name] += chunk;
      return true;
    },
  });
  const streams = { stdout: stream('stdout'), stderr: stream('stderr'), env: options.env ?? {} } as unknown as ConstructorParameters<
    typeof Output
  >[1];
  return { text, streams };
}

describe('output', () => {
  it('--json: one document on stdout, the result or the error, never both', () => {
    const { text, streams } = capture();
    const out = new Output(true, streams);
    out.result({ a: 1 }, () => 'human');
    expect(out.fail(Object.assign(new Error('late'), { code: 'E_STORAGE', details: {} }))).toBe(3);
    expect(JSON.parse(text.stdout)).toEqual({ a: 1 });
    expect(text.stderr).toContain('E_STORAGE late');
  });

  it('an error that is not the SDK catalogue is E_UNEXPECTED, exit 1', () => {
    expect(errorDocument(Object.assign(new Error('no such file'), { code: 'ENOENT' })).error.code).toBe('E_UNEXPECTED');
    const { text, streams } = capture();
    expect(new Output(true, streams).fail(new Error('boom'))).toBe(1);
    expect(JSON.parse(text.stdout)).toEqual({ error: { code: 'E_UNEXPECTED', message: 'boom', details: {} } });
  });

  it('piped progress: a line when a phase begins, then at most one per 10 s, no escape code', async () => {
    const { text, streams } = capture({ tty: false });
    let now = 0;
    const progress = startProgress(new Output(false, streams), 'backup prod', () => now);
    progress.update('dumping', '1 MB');
    now += 1000;
    progress.update('dumping', '2 MB');
    now += PLAIN_LINE_INTERVAL_MS;
    progress.update('dumping', '9 MB');
    now += 10;
    progress.update('uploading', '9 MB');
    await progress.end(true);
    expect(text.stderr.trim().split('\n')).toEqual([
      'backup prod: dumping 1 MB',
      'backup prod: dumping 9 MB',
      'backup prod: uploading 9 MB',
    ]);
  });

  it('colours only on a terminal without NO_COLOR or TERM=dumb', () => {
    const colored = (options: Parameters<typeof capture>[0]) => {
      const { text, streams } = capture(options);
      new Output(false, streams).warn('x');
      return text.stderr.includes('\u001b');
    };
    expect(colored({ tty: true, env: { TERM: 'xterm' } })).toBe(true);
    expect(colored({ tty: false })).toBe(false);
    expect(colored({ tty: true, env: { TERM: 'dumb' } })).toBe(false);
    expect(colored({ tty: true, env: { TERM: 'xterm', NO_COLOR: '1' } })).toBe(false);
  });
});
