# Stablegate: the gateway as a container image (docs/deploy.md).
#
#   docker build -t stablegate .
#   docker run --env-file stablegate.env -v /srv/stablegate/seed.txt:/run/secrets/seed:ro stablegate
#
# No build step for the service: tsx runs the TypeScript sources (a production dependency). The
# things built are the pages the gateway serves, the hosted checkout (packages/web) and Studio
# (packages/studio), in their own stage. Written for the
# classic builder and BuildKit alike (no RUN --mount), so `docker build` works without buildx.

ARG NODE_IMAGE=node:20-bookworm-slim

# The workspace manifests alone, so the npm layers are rebuilt only when a manifest changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/gateway/package.json packages/gateway/
COPY packages/react/package.json packages/react/
COPY packages/react-18/package.json packages/react-18/
COPY packages/sdk/package.json packages/sdk/
COPY packages/web/package.json packages/web/
COPY packages/studio/package.json packages/studio/
COPY examples/react-shop/package.json examples/react-shop/

# The checkout page and Studio: every dependency (vite), then packages/web/dist and
# packages/studio/dist (one build function for both: scripts/build-page.mjs).
FROM manifests AS web
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build-page.mjs scripts/
COPY packages/sdk/src packages/sdk/src
COPY packages/web packages/web
COPY packages/studio packages/studio
RUN node packages/web/scripts/build.mjs --force && node packages/studio/scripts/build.mjs --force

# The gateway's production dependencies only: what `serve` needs, nothing from devDependencies.
# --ignore-scripts: no workspace `prepare` (the page is built above); nothing the gateway uses
# needs an install script (anvil and esbuild ship their binaries as optional packages).
FROM manifests AS deps
RUN npm ci --omit=dev --workspace @stablegate/gateway --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/stablegate \
    SEED_FILE=/run/secrets/seed
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY packages/contracts packages/contracts
COPY packages/gateway packages/gateway
COPY --from=web /app/packages/web/dist packages/web/dist
COPY --from=web /app/packages/studio/dist packages/studio/dist
# The image's user: `node` (uid 1000) from the base image. DATA_DIR holds PGlite when no
# DATABASE_URL is given (one process only) and the admin socket; mount a volume there.
RUN mkdir -p /var/lib/stablegate && chown node:node /var/lib/stablegate
USER node
VOLUME ["/var/lib/stablegate"]
EXPOSE 8080
# Liveness only (/healthz); a load balancer should use /readyz?exclude=chains (docs/deploy.md).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "packages/gateway/bin/stablegate.js"]
CMD ["serve"]
