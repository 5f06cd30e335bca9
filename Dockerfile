# syntax=docker/dockerfile:1
# One image for every role: `--role api`, `--role worker`, or the all-in-one default.
# It needs REDIS_URL (the embedded-Redis fallback of a local start is not available here).
# The image runs the compiled JavaScript (`npm run build`): the TypeScript loader costs about 37 MB
# of RSS per process and start-up time, which production does not need.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY queues ./queues
COPY workers ./workers
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed at runtime (the embedded Redis download is for local starts only).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist

USER node
EXPOSE 3000 3001 3100

# Node itself is PID 1's child (compose: `init: true`), not npm: npm does not pass SIGTERM on,
# and the graceful shutdown needs it.
CMD ["node", "dist/src/main.js"]
