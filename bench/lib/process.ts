import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * The Node flags `npm start` runs the server with (see the README): a 64 MB young generation, in which the
 * objects of requests in flight die young instead of being promoted and collected by full collections.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];

export interface Spawned {
  child: ChildProcess;
  /** Lines the process printed on stdout. */
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts a process and waits until a line of its stdout matches `ready`. The server under test runs in
 * its own process, so the load generator never shares its event loop.
 */
export async function spawnUntil(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Spawned> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const output: string[] = [];
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not become ready`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        if (ready.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready`));
    });
  });
  return {
    child,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** CPU time (user + system, µs) a process has used so far: its main thread, and all its other threads. */
export function threadCpuUs(pid: number): { main: number; others: number } {
  const out = { main: 0, others: 0 };
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks of 10 ms.
    const us = (Number(fields[11]) + Number(fields[12])) * 10_000;
    if (task === String(pid)) out.main += us;
    else out.others += us;
  }
  return out;
}
