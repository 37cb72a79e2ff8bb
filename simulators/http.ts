import Fastify, { type FastifyInstance } from 'fastify';
export { serve, type RunningServer } from '../stack/http';

/** A Fastify app that also understands form bodies (OAuth2 token requests use them). */
export function createApp(): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  return app;
}
