# Switchboard gateway image: compiled JavaScript on Node 20 (Debian bookworm), running as the
# unprivileged `node` user. Built from Debian packages and the npm registry only.
#   docker build -t switchboard .
#   docker run -p 4000:4000 -e SWITCHBOARD_MASTER_KEYS="k1:<base64 of 32 bytes>" -e REDIS_URL=redis://… \
#     -e SWITCHBOARD_CONFIG=/config/tenants.json -v $PWD/config:/config:ro switchboard
# Without SWITCHBOARD_CONFIG it runs the zero-config demo, like `npm start`, in development mode
# (production refuses to start without SWITCHBOARD_MASTER_KEYS):
#   docker run --rm -t -p 4000:4000 -e NODE_ENV=development switchboard

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schema schema
COPY src src
COPY connectors connectors
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
USER node
EXPOSE 4000
# /healthz answers while the process serves; /readyz also checks Redis (the proxy should use it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 gets SIGTERM from `docker stop` directly (no shell in between).
CMD ["node", "dist/src/main.js"]
