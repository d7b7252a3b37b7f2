import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKeyVerifier } from '../../../src/ssh/host-key.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';

let server: SshServer;
beforeAll(async () => {
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

/** Connects with ssh2 and runs `command`, resolving its stdout; rejects on any connection error. */
function run(
  options: { hostKey: string; password?: string; privateKey?: string },
  command: string,
  onOutput?: (text: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.exec(command, (err, channel) => {
          if (err) return reject(err);
          let out = '';
          channel.on('data', (d: Buffer) => {
            out += d.toString();
            onOutput?.(out);
          });
          channel.on('close', () => {
            client.end();
            resolve(out);
          });
        });
      })
      .on('error', reject)
      .connect({
        host: server.host,
        port: server.port,
        username: server.username,
        ...(options.password ? { password: options.password } : {}),
        ...(options.privateKey ? { privateKey: options.privateKey } : {}),
        hostVerifier: hostKeyVerifier(options.hostKey),
        readyTimeout: 10_000,
      });
  });
}

describe('SSH host keys against a real sshd', () => {
  it('logs in with the client key when the fingerprint matches', async () => {
    expect(await run({ hostKey: server.hostKeyFingerprint, privateKey: server.privateKey }, 'id -un')).toBe(`${server.username}\n`);
  });

  it('logs in with the known_hosts line as the expected key', async () => {
    expect(await run({ hostKey: server.knownHostsLine, privateKey: server.privateKey }, 'echo ok')).toBe('ok\n');
  });

  it('logs in with a password (the harness runs as root)', async () => {
    expect(server.password).not.toBe('');
    expect(await run({ hostKey: server.hostKeyFingerprint, password: server.password }, 'echo pw')).toBe('pw\n');
  });

  it('refuses a server whose host key is not the configured one', async () => {
    const other = 'SHA256:' + 'A'.repeat(43);
    await expect(run({ hostKey: other, privateKey: server.privateKey }, 'echo never')).rejects.toThrow(/verif/i);
  });

  it('dropConnections cuts a running session', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const pending = run(
      { hostKey: server.hostKeyFingerprint, privateKey: server.privateKey },
      'echo started; sleep 5; echo finished',
      (out) => {
        if (out.includes('started')) started();
      },
    );
    await running;
    server.dropConnections();
    const outcome = await pending.then(
      (out) => out,
      (error: Error) => `error: ${error.message}`,
    );
    expect(outcome).not.toContain('finished');
  });
});
