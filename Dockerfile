# syntax=docker/dockerfile:1
#
# Lookout's headless server (`lookout serve`), for team mode behind a reverse proxy:
# see docs/team-mode.md and docker-compose.yml. Three stages: the build (dev
# dependencies: TypeScript, Vite), the production dependencies alone, and the runtime,
# which gets only dist/, bin/, proto/ and those dependencies.
#
#   docker build -t lookout .
#   docker run --rm -p 127.0.0.1:3000:3000 -v lookout-ws:/workspace lookout
#
# The container binds 0.0.0.0 on purpose (a port is reachable only once published);
# remote clients must sign in as users, the owner token works only from inside the
# container (`docker exec <container> lookout user add …`).

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The desktop app's Electron binary is never needed to build the server.
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
# npm run build bundles the server with this script (dist/server/lookout.js).
COPY build/bundle-server.ts ./build/
COPY src-shared ./src-shared
COPY src-main ./src-main
COPY src-renderer ./src-renderer
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# No install scripts: no production dependency builds anything native.
RUN npm ci --omit=dev --ignore-scripts --loglevel=error && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# git: task sandboxes are git worktrees of the workspace. tini: PID 1 that forwards
# SIGTERM to `lookout serve` (a graceful stop) and reaps agents' orphaned children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git tini ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    LOOKOUT_WORKSPACE=/workspace \
    LOOKOUT_PORT=3000 \
    LOOKOUT_HOST=0.0.0.0 \
    LOOKOUT_ALLOW_REMOTE=1
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY proto ./proto
COPY --from=build /app/dist ./dist
# The workspace belongs to the unprivileged `node` user of the base image (uid 1000); a
# named volume mounted there starts with this ownership.
RUN ln -s /app/bin/lookout.js /usr/local/bin/lookout \
  && mkdir -p /workspace \
  && chown node:node /workspace
USER node
VOLUME ["/workspace"]
EXPOSE 3000
# Liveness from inside the container, where 127.0.0.1 passes the Host check. Node's own
# fetch: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.LOOKOUT_PORT}/health`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["tini", "--", "lookout"]
CMD ["serve"]
