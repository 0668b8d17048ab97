# The ingest as a container image, built from the repository root:
#   docker build -f deploy/ingest.Dockerfile -t envmon-ingest .
# (deploy/compose.yaml does this). The full node image carries python3/make/g++ for better-sqlite3's build.
FROM node:20-bookworm
WORKDIR /opt/envmon
COPY . .
# tsx (a dev dependency) runs the TypeScript, so dev dependencies stay; the dashboard is built to static files.
RUN npm ci --no-audit --no-fund && npm run build -w @envmon/dashboards \
 && mkdir -p /var/lib/envmon-ingest && chown node:node /var/lib/envmon-ingest
ENV NODE_ENV=production \
    ENVMON_DATA_DIR=/var/lib/envmon-ingest \
    ENVMON_HTTP_HOST=0.0.0.0 ENVMON_HTTP_PORT=8080 \
    ENVMON_MQTT_HOST=0.0.0.0 ENVMON_MQTT_PORT=1883
USER node
VOLUME /var/lib/envmon-ingest
EXPOSE 8080 1883 8883 8083
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "ingest/src/main.ts", "--config", "/etc/envmon/ingest.yaml"]
