# syntax=docker/dockerfile:1
# One image for every role: `--role api`, `--role worker`, or the all-in-one default.
# It needs REDIS_URL (the embedded-Redis fallback of a local start is not available here).
# TypeScript runs through tsx (a runtime dependency), so the image carries the sources as they
# are tested; there is no separate build output to drift from them.
FROM node:20-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
# Install scripts are not needed at runtime (the embedded Redis download is for local starts only).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY queues ./queues
COPY workers ./workers

USER node
EXPOSE 3000 3001 3100

# Node itself is PID 1's child (compose: `init: true`), not npm: npm does not pass SIGTERM on,
# and the graceful shutdown needs it. `npm start` runs the same command for local use.
CMD ["node", "--import", "tsx", "src/main.ts"]
