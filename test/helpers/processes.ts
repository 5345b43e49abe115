import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** What a finished command printed, and its exit code (-1 when killed by a signal). */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion in `cwd` with exactly `env`, collecting its output; never throws for a non-zero exit. */
export function runIn(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs a command in the repository's root, with this process's environment plus `env`. */
export function run(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return runIn(command, args, ROOT, { ...process.env, ...env });
}

/** A demo server in its own process, as `npm start` runs it. */
export interface DemoProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `examples/demo/main.ts` on a free port and waits for its "listening" line. */
export function startDemoProcess(env: Record<string, string>): Promise<DemoProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['examples/demo/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    // Generous: several demos may boot at once on a busy two-core machine.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not start:\n${output}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          child,
          output: () => output,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code}:\n${output}`));
    });
  });
}
