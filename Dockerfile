# dtx's container image (docs/deploying.md):
#   docker build -t dtx:0.1.0 .
#   docker run -p 36789:36789 -p 36790:36790 -p 36788:36788 -v dtx-data:/data dtx:0.1.0
# The build stage runs nothing but the repository's own release scripts, the ones
# tests/release.test.ts runs (tests/dockerfile.test.ts checks every RUN line against them).

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source (no prebuilt binaries are downloaded)
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm release
RUN node packages/release/install.mjs release/dtx-0.1.0.tgz /opt/dtx

FROM node:20-bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin dtx && mkdir -p /data && chown dtx:dtx /data
COPY --from=build /opt/dtx /opt/dtx
# dtm's image: IS_DOCKER=1 (branch URLs on localhost/127.0.0.1 are called on host.docker.internal),
# the store from STORE_DRIVER, STORE_HOST, STORE_PORT, STORE_USER, STORE_PASSWORD, STORE_DB, ...
# (docs/configuration.md). Without them: SQLite in the /data volume.
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    IS_DOCKER=1 \
    STORE_DRIVER=sqlite \
    STORE_DB=/data/dtm.sqlite
VOLUME /data
WORKDIR /data
USER dtx
EXPOSE 36789 36790 36788
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||36789)+'/api/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/opt/dtx/node_modules/.bin/dtx"]
CMD ["start"]
