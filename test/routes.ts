import { after, before, describe, it } from 'node:test';
import { backends, startServer, type StartOptions, type TestServer } from './harness.ts';

/**
 * Declares one suite per backend: `body` receives a getter for a server started before the suite
 * and closed after it. Route tests put their cases in describe blocks named by HTTP status.
 */
export async function describeOnBackends(
  name: string,
  body: (server: () => TestServer) => void,
  options: StartOptions = {},
): Promise<void> {
  for (const backend of await backends()) {
    if (backend.skip) {
      // A skipped test, not a skipped suite, so that the run's summary counts it.
      describe(`${name} [${backend.name}]`, () => {
        it(`runs on ${backend.name}`, { skip: backend.skip }, () => {});
      });
      continue;
    }
    describe(`${name} [${backend.name}]`, () => {
      let server: TestServer | undefined;
      before(async () => {
        server = await startServer(backend.name, options);
      });
      after(async () => {
        await server?.close();
      });
      body(() => {
        if (!server) throw new Error('server not started');
        return server;
      });
    });
  }
}
