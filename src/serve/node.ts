// Puts a `(Request) => Promise<Response>` handler on a Node HTTP socket (@hono/node-server). A client that
// disconnects aborts its Request's signal and cancels a streamed body, which is how generations get stopped.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { ShitateError } from '../errors.js';
import type { Handler } from './app.js';

export interface ListenOptions {
  /** default 127.0.0.1: reachable from this machine only */
  host?: string;
  /** 0 picks a free port */
  port?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** stops accepting connections and closes the open ones */
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function listen(handler: Handler, opts: ListenOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  return new Promise((resolve, reject) => {
    // the node-server's lighter Request/Response stay local: other code in this process keeps the globals
    const server = serve({ fetch: (req: Request) => handler(req), hostname: host, port: opts.port ?? 8000, overrideGlobalObjects: false }) as Server;
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(new ShitateError('E_LISTEN', `serve: expected to listen on ${host}:${opts.port ?? 8000}, found ${e.code ?? e.message}`,
        e.code === 'EADDRINUSE' ? 'another program uses that port: pass another --port (0 picks a free one)' : 'check --host and --port'));
    });
    server.once('listening', () => {
      const addr = server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `http://${shown}:${addr.port}`,
        host: addr.address,
        port: addr.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
