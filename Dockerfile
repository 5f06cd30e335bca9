# syntax=docker/dockerfile:1
# The production image: the compiled build (`npm run build` -> dist/) on Node 24 LTS, production
# dependencies only (no typescript, tsx, esbuild, redis-memory-server or sandbox), as the
# unprivileged `node` user. One image for every role: `--role api`, `--role worker`, or the
# all-in-one default. It needs REDIS_URL and provider credentials (the embedded Redis and the
# sandbox of a local `npm start` are not in it). `--target sandbox` builds the sandbox provider's
# image for local stacks (docker-compose.yml, profile `sandbox`); never deploy that one.
#
# Base image pinned by digest, so a rebuild gets the same bytes: node:24-bookworm-slim as published
# for Node 24.18.0 (the multi-arch index digest). To update, take the new digest from
# `docker buildx imagetools inspect node:24-bookworm-slim` and change it here and below.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY queues ./queues
COPY workers ./workers
RUN npm run build \
  # The service's build without the sandbox provider (src/sandbox), which only local starts and tests use.
  && cp -r dist dist-service && rm -rf dist-service/src/sandbox

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed at runtime (msgpackr's native build ships prebuilt). typescript
# comes along only as an optional peer of valibot (under Bull Board), which the lockfile marks
# devOptional and `--omit=dev` keeps; nothing at runtime loads it.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS sandbox
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3100
CMD ["node", "dist/src/sandbox/main.js"]

# Last, so a plain `docker build .` builds this one.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist-service ./dist
USER node
EXPOSE 3000 3001
# Node itself runs under the container's init (compose: `init: true`), not npm: npm does not pass
# SIGTERM on, and the graceful shutdown needs it.
CMD ["node", "dist/src/main.js"]
