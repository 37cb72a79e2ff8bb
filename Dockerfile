# hrsync's worker and bridge (docker-compose.yml runs `node bin/hrsync.mjs worker|bridge` on it).
# No build step: the TypeScript runs through tsx, which is a runtime dependency.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. Prebuilt binaries only
# (Temporal core bridge, esbuild, swc): nothing is compiled here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
# The embedded-stack state folder is the only place hrsync may write to under /app.
RUN mkdir -p /app/.hrsync && chown node:node /app/.hrsync

USER node
EXPOSE 8080
CMD ["node", "bin/hrsync.mjs", "worker"]
