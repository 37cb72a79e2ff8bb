import type { FastifyInstance } from 'fastify';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens (port 0 picks a free one) and reports where. */
export async function serve(app: FastifyInstance, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  await app.listen({ port, host });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host}:${bound}`, port: bound, close: () => app.close() };
}
