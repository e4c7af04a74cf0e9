# syntax=docker/dockerfile:1
#
# One image, three roles chosen by the command (see docker-compose.yml):
#   api        node api/src/main.ts
#   worker     node worker/src/main.ts
#   akash-sim  node akash-sim/src/bin/akash-sim.ts --seed <file>
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step and no build output.
# Checked without a Docker engine by test/compose.test.ts.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# Production dependencies. Only the manifests and the lockfile are copied first, so this layer is rebuilt only when
# dependencies change, not on every source edit. Every workspace package's package.json must be listed here.
FROM base AS deps
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY api/package.json api/
COPY worker/package.json worker/
COPY shared/package.json shared/
COPY akash-sim/package.json akash-sim/
COPY bench/package.json bench/
# pnpm at the version package.json pins in "packageManager" (as scripts/bootstrap.sh does).
RUN npm install --global --no-audit --no-fund --loglevel=error \
      "pnpm@$(node -p "require('./package.json').packageManager.replace(/^pnpm@/, '').split('+')[0]")"
RUN --mount=type=cache,id=shell-exec-pnpm-store,target=/pnpm-store \
    CI=true pnpm install --frozen-lockfile --prod --store-dir /pnpm-store --reporter=append-only

# The sources on top (.dockerignore keeps out node_modules, tests, .env, .git and dev tooling).
FROM deps AS source
COPY . .

# Runtime: Node, tini, the sources and production node_modules. No pnpm, npm cache or dev dependencies.
FROM base AS runtime
RUN apt-get update \
 && apt-get install --yes --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# Files stay owned by root: the service user can read its code but not change it.
COPY --from=source /app /app
# The image's own unprivileged user (uid 1000).
USER node
EXPOSE 8080 3100 8443
# tini as PID 1 forwards SIGTERM to node (which then drains: see SHUTDOWN_GRACE_SECONDS) and reaps the child
# processes akash-sim starts for commands.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "api/src/main.ts"]
