# syntax=docker/dockerfile:1

# Node 24 (active LTS), minor pinned. A release pins the image digest too: see docs/deploy.md.
# Build: compile TypeScript with every dependency from the committed lockfile.
FROM node:24.21-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: production dependencies only (no pino-pretty: logs are JSON lines).
# The slim image keeps /bin/sleep for the preStop hook.
FROM node:24.21-bookworm-slim AS runtime
ENV COFFEEBUDDY_ENVIRONMENT=prod
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself.
CMD ["node", "dist/main.js"]
