# provider-swarm served as a faas-provider (provider-swarm/main.ts bundled into app.mjs).
# Runs as root to use the bind-mounted /var/run/docker.sock: place it on a manager.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
WORKDIR /app
COPY node_modules/ /app/node_modules/
COPY app.mjs package.json /app/
COPY templates/ /app/templates/
ENV port=8080 bind_address=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/app.mjs"]
